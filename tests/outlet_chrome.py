"""One outlet's articles that all end with the same footer: what the boilerplate learner must learn
to remove, shared by its unit test and the integration test of the state shared across workers."""

FOOTER = "The Valley Courier is published every weekday by Valley Media Group in Springfield."
BODIES = [
    "The city council voted on Monday to extend the bus network to the northern suburbs by next spring.\n"
    "Councillors said the new routes would cost less than expected because the old depot will be reused.",
    "Heavy rain flooded several streets in the old town overnight, and two schools stayed closed on Tuesday.\n"
    "Firefighters pumped water out of basements until the early morning, the fire service said.",
    "A local bakery won the regional bread prize for the second year in a row on Wednesday evening.\n"
    "Its owner said she would use the prize money to train two more apprentices this year.",
    "Police closed the river bridge for repairs after inspectors found cracks in two of its supports.\n"
    "Drivers were told to expect delays of up to half an hour on the ring road during the works.",
]


def with_footer(body: str) -> str:
    return f"{body}\n{FOOTER}"
