"""Investigation from the warehouse: named questions over the dbt models, as CLI and MCP.

Install with the extra: `pip install 'tap-hubspot-activity[investigate]'`. The questions
(questions.py) are the only SQL there is: parameters are bound, the schema is composed
as an identifier, and every connection is read-only with a statement timeout
(settings.py); answers are capped (layer.py).
"""

EXTRA = "tap-hubspot-activity[investigate]"
