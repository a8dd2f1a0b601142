"""Generated long multi-session conversations with known evidence, for ``bench.memory_quality``.

Each conversation is a user telling an assistant about the people in their life over many weekly
sessions. Every fact is stated once, in one of several phrasings that rarely share words with the
question about it; some facts are updated in a later session (moved again, changed jobs); some
answers are spread over two sessions (two pets); some are events asked about by date; and most
messages are distractors: chatter that names the same people, and the same kinds of facts about
other people. Every question lists the ids of the messages that hold its answer.

Categories: ``single`` (one statement), ``update`` (the latest of two statements; only the latest is
evidence), ``multi`` (two statements in different sessions, both evidence), ``temporal`` (an event
asked about by its month, or "when did ...").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

FIRST = [
    "Maya",
    "Jonah",
    "Priya",
    "Tobias",
    "Ines",
    "Rafael",
    "Greta",
    "Kenji",
    "Leona",
    "Dmitri",
    "Alma",
    "Caspar",
    "Noor",
    "Felix",
    "Saoirse",
    "Mateo",
    "Yara",
    "Elias",
    "Hanna",
    "Bruno",
    "Talia",
    "Oskar",
    "Zara",
    "Emeka",
    "Livia",
    "Anders",
    "Mira",
    "Santiago",
    "Freya",
    "Idris",
    "Clara",
    "Hugo",
]
RELATIONS = ["my sister", "my brother", "my cousin", "my friend", "my neighbour", "my colleague", "my aunt", "my uncle"]
CITIES = [
    "Lisbon",
    "Denver",
    "Osaka",
    "Nairobi",
    "Quito",
    "Oslo",
    "Perth",
    "Austin",
    "Leeds",
    "Porto",
    "Hanoi",
    "Tallinn",
    "Bergen",
    "Cusco",
    "Valencia",
]
JOBS = [
    "nurse",
    "carpenter",
    "data analyst",
    "pastry chef",
    "pilot",
    "translator",
    "veterinarian",
    "architect",
    "bus driver",
    "librarian",
]
PETS = ["beagle", "tabby cat", "parrot", "rabbit", "corgi", "tortoise", "goldfish", "husky"]
INSTRUMENTS = ["cello", "banjo", "saxophone", "harp", "violin", "ukulele", "drums", "flute"]
EVENTS = [
    ("ran a half marathon", "run a half marathon"),
    ("got married", "get married"),
    ("broke an ankle skiing", "break an ankle"),
    ("won a chess tournament", "win a chess tournament"),
    ("graduated from night school", "graduate from night school"),
    ("opened a bakery", "open a bakery"),
    ("climbed Kilimanjaro", "climb Kilimanjaro"),
    ("sold the old sailboat", "sell the sailboat"),
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

SAY_CITY = [
    "{who} finally got the keys to a flat in {value}.",
    "Big news: {who} packed everything up and relocated to {value}.",
    "{who} signed a lease in {value}, so that's home for now.",
    "{who} is settling in {value} after the move.",
]
ASK_CITY = ["Where does {name} live now?", "Which city is {name} based in these days?"]
SAY_JOB = [
    "{who} started a new position as {value}.",
    "{who} got hired as {value} last week.",
    "{who} switched careers and now works as {value}.",
]
ASK_JOB = ["What does {name} do for a living?", "What is {name}'s occupation?"]
SAY_PET = [
    "{who} brought home {value} from the shelter.",
    "{who} adopted {value}, it is adorable.",
    "{name}'s household grew: {value} arrived.",
]
ASK_PET = ["What animals does {name} have?", "Which pets live with {name}?"]
SAY_INSTRUMENT = [
    "{who} signed up for Tuesday evening lessons: {value}.",
    "{who} has been practising on {value} for weeks.",
    "{who} bought {value} and is learning to play it.",
]
ASK_INSTRUMENT = ["Which instrument is {name} learning?", "What music is {name} studying?"]
SAY_EVENT = ["{who} {past} this weekend!", "You won't believe it, {who} {past}.", "{who} {past}, we celebrated."]
CHATTER = [
    "I called {name} yesterday but we mostly talked about the weather.",
    "{name} says hi, by the way.",
    "Had coffee with {name}, nothing much new.",
    "{name} recommended a podcast about history.",
    "I keep forgetting to return {name}'s umbrella.",
    "{name} and I watched a film on Sunday, it was fine.",
    "{name} asked me how work is going.",
    "Do you think I should invite {name} to the barbecue?",
    "{name} sent me a funny photo of a cloud.",
    "I lent {name} my bike for the afternoon.",
]
PEOPLE_CHATTER = [
    "I talked to {other} about {name}'s trip.",
    "{name} got a long text from {other} this morning.",
    "{name} sent the photos to {other}.",
    "{name} ran into {other} at the market.",
    "{name} wrote to me in Spanish, just to tease me.",
    "{name} brought over a gift from Mom.",
    "{name} said thanks to {other} for the help.",
    "{name} introduced me to {other} at lunch.",
]
"""Chatter with another person, a language or a family word after a preposition ("to", "from", "in"),
mixed into ``CHATTER`` by ``dataset(people=True)``: a crude test of places would take these for places."""
FILLER = [
    "The weather was awful today, rain all afternoon.",
    "I tried a new recipe for lentil soup.",
    "Work was busy, lots of meetings.",
    "I finally cleaned out the garage.",
    "My train was late again this morning.",
    "I'm thinking about repainting the kitchen.",
    "Can you remind me to buy light bulbs?",
    "I slept badly, the neighbours had a party.",
    "I read a good book about the ocean.",
    "The garden needs watering.",
]
REPLIES = [
    "That sounds nice.",
    "Thanks for telling me, I'll remember that.",
    "Interesting! How do you feel about it?",
    "Good to know.",
    "Oh wow, tell me more.",
]
T0 = datetime(2024, 1, 6, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    """One message: its id, speaker, text and time."""

    id: str
    speaker: str
    text: str
    at: datetime
    session: int


@dataclass(frozen=True)
class Question:
    """A question, its category and the ids of the messages that answer it (latest first for updates)."""

    text: str
    category: str
    evidence: tuple[str, ...]
    stale: tuple[str, ...] = ()
    """For updates: the superseded statement, which should rank below the latest."""


@dataclass
class Conversation:
    """One user's sessions and the questions about them."""

    index: int
    messages: list[Message] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        """The time of the last message (questions are asked then)."""
        return self.messages[-1].at


@dataclass
class _Plan:
    session: int
    text: str
    key: str


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _fill(template: str, who: str, name: str, value: str) -> str:
    text = template.format(who=who, name=name, value=value, past=value)
    return text[0].upper() + text[1:]


def conversation(
    seed: int, index: int, people: int = 8, sessions: int = 24, per_session: int = 22, others: bool = False
) -> Conversation:
    """One conversation of ``sessions`` weekly sessions about ``people`` people (``others``: its chatter
    drawn from ``PEOPLE_CHATTER`` too)."""
    rng = random.Random(seed * 1_000 + index)
    names = rng.sample(FIRST, people)
    relation = {name: rng.choice(RELATIONS) for name in names}
    plans: list[_Plan] = []
    questions: list[tuple[str, str, list[str], list[str]]] = []  # text, category, evidence keys, stale keys

    def who(name: str) -> str:
        return rng.choice([name, f"{relation[name]} {name}"])

    def plan(session: int, templates: list[str], name: str, value: str, key: str) -> None:
        plans.append(_Plan(session, _fill(rng.choice(templates), who(name), name, value), key))

    for name in names:
        first, second = rng.sample(range(sessions), 2)
        early, late = sorted((first, second))
        cities = rng.sample(CITIES, 2)
        if rng.random() < 0.5:  # an update: the later statement wins
            plan(early, SAY_CITY, name, cities[0], f"{name}:city:old")
            plan(late, SAY_CITY, name, cities[1], f"{name}:city")
            questions.append((rng.choice(ASK_CITY), "update", [f"{name}:city"], [f"{name}:city:old"]))
        else:
            plan(early, SAY_CITY, name, cities[0], f"{name}:city")
            questions.append((rng.choice(ASK_CITY), "single", [f"{name}:city"], []))
        jobs = rng.sample(JOBS, 2)
        if rng.random() < 0.4:
            a, b = sorted(rng.sample(range(sessions), 2))
            plan(a, SAY_JOB, name, _a(jobs[0]), f"{name}:job:old")
            plan(b, SAY_JOB, name, _a(jobs[1]), f"{name}:job")
            questions.append((rng.choice(ASK_JOB), "update", [f"{name}:job"], [f"{name}:job:old"]))
        else:
            plan(rng.randrange(sessions), SAY_JOB, name, _a(jobs[0]), f"{name}:job")
            questions.append((rng.choice(ASK_JOB), "single", [f"{name}:job"], []))
        pets = rng.sample(PETS, 2)
        a, b = rng.sample(range(sessions), 2)
        plan(a, SAY_PET, name, _a(pets[0]), f"{name}:pet1")
        plan(b, SAY_PET, name, _a(pets[1]), f"{name}:pet2")
        questions.append((rng.choice(ASK_PET), "multi", [f"{name}:pet1", f"{name}:pet2"], []))
        plan(rng.randrange(sessions), SAY_INSTRUMENT, name, _a(rng.choice(INSTRUMENTS)), f"{name}:instrument")
        questions.append((rng.choice(ASK_INSTRUMENT), "single", [f"{name}:instrument"], []))
        past, verb = rng.choice(EVENTS)
        when = rng.randrange(sessions)
        plan(when, SAY_EVENT, name, past, f"{name}:event")
        month = T0 + timedelta(weeks=when)
        asked = rng.choice(
            [f"What happened with {name} in {MONTHS[month.month - 1]} {month.year}?", f"When did {name} {verb}?"]
        )
        questions.append((asked, "temporal", [f"{name}:event"], []))

    convo = Conversation(index)
    keyed: dict[str, str] = {}
    counter = 0
    for session in range(sessions):
        start = T0 + timedelta(weeks=session, hours=rng.randrange(0, 9))
        lines = [p for p in plans if p.session == session]
        total = max(per_session, 2 * len(lines) + 4)
        slots = sorted(rng.sample(range(0, total, 2), len(lines)))
        planned = dict(zip(slots, lines, strict=True))
        for slot in range(total):
            at = start + timedelta(minutes=2 * slot)
            mid = f"c{index}-m{counter}"
            counter += 1
            if slot in planned:
                keyed[planned[slot].key] = mid
                text, speaker = planned[slot].text, "user"
            elif slot % 2 == 1:
                text, speaker = rng.choice(REPLIES), "assistant"
            elif rng.random() < 0.6:
                if others:  # the default draws exactly as before, so its conversations are unchanged
                    said = rng.choice(CHATTER + PEOPLE_CHATTER)
                    text, speaker = said.format(name=rng.choice(names), other=rng.choice(names)), "user"
                else:
                    text, speaker = rng.choice(CHATTER).format(name=rng.choice(names)), "user"
            else:
                text, speaker = rng.choice(FILLER), "user"
            convo.messages.append(Message(mid, speaker, text, at, session))
    for text, category, evidence, stale in questions:
        name = next(n for n in names if any(k.startswith(n + ":") for k in evidence))
        convo.questions.append(
            Question(
                text.format(name=name),
                category,
                tuple(keyed[k] for k in evidence),
                tuple(keyed[k] for k in stale),
            )
        )
    return convo


def dataset(seed: int = 0, conversations: int = 4, people: bool = False) -> list[Conversation]:
    """``conversations`` conversations generated from ``seed`` (``people``: with ``PEOPLE_CHATTER``)."""
    return [conversation(seed, index, others=people) for index in range(conversations)]
