"""Static vocabulary for the synthetic portal: locations, agents, names, audit actions."""

from __future__ import annotations

# (location, countryCode, regionCode, IPv4 prefix). Lower-case codes and "city, country"
# strings mirror the API guide's example; a few non-ASCII names exercise UTF-8 handling.
US_LOCATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("new jersey, united states", "us", "nj", "73.194"),
    ("new york, united states", "us", "ny", "74.101"),
    ("california, united states", "us", "ca", "76.21"),
    ("massachusetts, united states", "us", "ma", "98.217"),
    ("texas, united states", "us", "tx", "99.42"),
    ("illinois, united states", "us", "il", "71.57"),
)
WORLD_LOCATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("dublin, ireland", "ie", "d", "89.101"),
    ("london, united kingdom", "gb", "eng", "81.2"),
    ("são paulo, brazil", "br", "sp", "177.72"),
    ("zürich, switzerland", "ch", "zh", "85.195"),
    ("東京, japan", "jp", "13", "126.15"),
    ("berlin, germany", "de", "be", "91.64"),
    ("toronto, canada", "ca", "on", "99.229"),
    ("sydney, australia", "au", "nsw", "101.160"),
    ("bengaluru, india", "in", "ka", "49.207"),
    ("paris, france", "fr", "idf", "90.36"),
)
# Countries no generated home uses, so the planted "new country" login is provably new.
FOREIGN_LOCATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("rio de janeiro, brazil", "br", "rj", "189.6"),
    ("lagos, nigeria", "ng", "la", "102.89"),
    ("bucharest, romania", "ro", "b", "86.124"),
    ("hanoi, vietnam", "vn", "hn", "113.160"),
    ("buenos aires, argentina", "ar", "c", "181.46"),
    ("jakarta, indonesia", "id", "jk", "36.68"),
    ("kyiv, ukraine", "ua", "30", "93.72"),
    ("manila, philippines", "ph", "00", "112.198"),
)
ATTACKER_LOCATION = ("amsterdam, netherlands", "nl", "nh", "185.220")

USER_AGENTS: tuple[str, ...] = (
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36"
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:134.0) Gecko/20100101 Firefox/134.0",
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_2) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.2 Safari/605.1.15"
    ),
    "Mozilla/5.0 (Linux; Android 11; M2101K6G)",
)
# Rarer agents: the mobile apps, scripted logins, and an empty header.
ODD_USER_AGENTS: tuple[str, ...] = (
    "HubSpot/7.112.0 (iPhone; iOS 18.2; Scale/3.00)",
    "HubSpotMobile/7.98.1 (Android 14; Pixel 8)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "",
)
ATTACKER_USER_AGENT = "python-requests/2.31.0"

FIRST_NAMES: tuple[str, ...] = (
    "Mark",
    "Helly",
    "Irving",
    "Dylan",
    "Harmony",
    "Seth",
    "Ricken",
    "Gretchen",
    "Devon",
    "Natalie",
    "Milchick",
    "Burt",
    "Petey",
    "June",
    "Casey",
    "Reghabi",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Aoife",
    "Chloé",
    "Jürgen",
    "Ngozi",
    "Priya",
    "Mateo",
    "Yuki",
    "Olamide",
    "Fatima",
    "Liam",
    "Ana",
    "Chen",
)
LAST_NAMES: tuple[str, ...] = (
    "Scout",
    "Riggs",
    "Bailiff",
    "George",
    "Cobel",
    "Milchick",
    "Hale",
    "Eagan",
    "Müller",
    "O'Brien",
    "García",
    "Nakamura",
    "Øyen",
    "Nguyễn",
    "Kowalski",
    "Adeyemi",
    "Sharma",
    "Rossi",
    "Dubois",
    "Silva",
    "Kim",
    "Novak",
    "Byrne",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "lumon.example", "agency.example")

# (category, subCategory, action, target): target None means a numeric object id,
# a string is used verbatim because the API puts object names there too.
AUDIT_ACTIONS: tuple[tuple[str, str, str, str | None], ...] = (
    ("PIPELINE", "DEAL", "UPDATE", "Sales Pipeline"),
    ("PIPELINE", "TICKET", "CREATE", "Support Pipeline"),
    ("PIPELINE", "DEAL", "DELETE", "Partner Pipeline"),
    ("PROPERTY_VALUE", "CONTACT", "UPDATE", None),
    ("PROPERTY_VALUE", "COMPANY", "UPDATE", None),
    ("PROPERTY_VALUE", "DEAL", "UPDATE", None),
    ("CRM_OBJECT", "CONTACT", "DELETE", None),
    ("CRM_OBJECT", "DEAL", "CREATE", None),
    ("CRM_OBJECT", "CONTACT", "MERGE", None),
    ("CRM_OBJECT", "COMPANY", "RESTORE", None),
    ("CONTENT", "LANDING_PAGE", "PUBLISH", "Spring Webinar Landing Page"),
    ("CONTENT", "BLOG_POST", "UPDATE", "How We Onboard Customers"),
    ("CONTENT", "EMAIL", "PUBLISH", "Monthly Newsletter — März"),
    ("SECURITY", "PRIVATE_APP", "VIEW_TOKEN", None),
    ("SECURITY", "USER", "REMOVE_TWO_FACTOR", None),
    ("APPROVAL", "QUOTE", "APPROVE", None),
    ("APPROVAL", "DEAL", "REQUEST", None),
    ("USER_MANAGEMENT", "USER", "CREATE", None),
    ("USER_MANAGEMENT", "PERMISSION_SET", "UPDATE", "Sales Manager"),
    ("USER_MANAGEMENT", "USER", "DEACTIVATE", None),
    ("WORKFLOW", "WORKFLOW", "UPDATE", "Lead nurturing (EMEA)"),
    ("REPORTING", "DASHBOARD", "DELETE", "Q3 Revenue"),
    ("DATA_MANAGEMENT", "IMPORT", "CREATE", None),
    ("INTEGRATION", "APP", "INSTALL", "Salesforce"),
)
