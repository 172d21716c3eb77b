"""The one error the investigation shows: a plain line for the person or the agent asking."""


class InvestigationError(Exception):
    """Bad input, an unreachable warehouse or a question it cannot answer, said in one line.

    The message never holds a database error text, a traceback or a credential.
    """
