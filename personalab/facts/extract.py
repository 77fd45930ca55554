"""Durable facts in what a user says: a rule-based extractor that tells facts from events."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import compress

from personalab.facts.rules import CATEGORIES, RULES, SINGLE, TOPIC_SYNONYMS
from personalab.memory.keyword import terms
from personalab.text.sentences import split_sentences

__all__ = ["CATEGORIES", "SINGLE", "Candidate", "Judge", "classify", "extract", "sentences"]


@dataclass(frozen=True)
class Candidate:
    """A durable statement found in a user turn, with the slot it fills.

    `slot` names what the fact is about ("diet", "allergy", "home"); `topic` narrows a slot
    that holds many facts ("allergy" about "peanut"). A slot in SINGLE holds one value at a
    time, so a new value supersedes the old one. Facts with no slot merge only when their
    texts are near-duplicates.
    """

    text: str
    category: str
    slot: str
    topic: str = ""

    @property
    def key(self) -> str:
        return f"{self.slot}:{self.topic}" if self.topic else self.slot


# The fact model's verdict on each of several sentences: does it state a lasting fact?
Judge = Callable[[list[str]], list[bool]]


def _words(*groups: str) -> str:
    return "|".join(w for g in groups for w in g.split())


_RELATIONS = _words(
    "husband wife partner boyfriend girlfriend son sons daughter daughters kids children",
    "sister sisters brother brothers mum mom mother dad father parents grandma grandpa",
    "grandmother grandfather uncle aunt cousin niece nephew landlord flatmate roommate boss",
    "in-laws stepdad stepmum",
)
_PERSONAL = re.compile(rf"\b(?:i|i'm|i've|i'd|my|me|we|we're|our|us|{_RELATIONS})\b")
# A relative is the subject ("my daughter Mia is allergic to cats"), not "my wife and I".
_RELATIVE_SUBJECT = re.compile(
    rf"^(?:my|our) (?:[a-z-]+ )?(?:{_RELATIONS})(?:'s)?\b(?! and (?:i|me)\b)(?! (?:says|said)\b)"
)
# Someone the user knows, by name, described in the present tense ("Layla has an egg allergy",
# "Miso the cat hides whenever ..."): checked on the original casing.
_NAMED = re.compile(
    r"^(?!(?:I|My|Our|We|Your|You|His|Her|Their|Its|It|The|This|That|These|Those|There|Here|"
    r"He|She|They|Everyone|Nobody|Someone|Everything|Nothing|Today|Tomorrow|Tonight|"
    r"Yesterday)\b)[A-Z][a-z]+"
    r"(?:'s [a-z]+(?: [A-Z][a-z]+)?| the [a-z]+)? (?:(?:still|always|usually|never|often|also|"
    r"only|really) )?(?:is|has|can't|doesn't|won't|isn't|hasn't|"
    r"(?!(?:this|his|was|yes|plus|always)\b)[a-z]+[^s']s)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|my|me|mine|we|we're|we've|our|us)\b")
_QUESTION = re.compile(
    r"^(?:what|how|why|when|where|which|who|whom|whose|can|could|would|should|shall|is|are|"
    r"am|do|does|did|will|have|has|any|anyone|isn't|aren't|don't|doesn't)\b"
)
_REQUEST = re.compile(
    r"^(?:can you|could you|would you|will you|please|pls|give|tell|write|help|find|make|"
    r"show|list|suggest|recommend|explain|draft|translate|summari[sz]e|remind|let's|lets|"
    r"thanks|thank|cheers|ok|okay|sure|haha|lol|right|great|nice|cool|wow|oh|hmm|meh|yes|no)\b"
)
_STYLE_WISH = re.compile(
    r"^(?:please |pls |and |also |(?:when|whenever) you [\w ]+?,? )*"
    r"(?:always |never |don't |do not |just )?(?:use|keep|make|"
    r"answer|reply|respond|write|explain|talk|give|avoid|skip|stop|start|call|address|"
    r"spell|format|put|no)\b.*\b(?:short|shorter|brief|concise|detailed|simple|plain|"
    r"formal|casual|bullet|emojis?|jargon|spelling|british|american|metric|imperial|tone|"
    r"step[- ]by[- ]step|reasoning|examples|"
    r"version|answers?|replies|responses|explanations?|in (?:english|french|german|spanish|"
    r"dutch|arabic|italian|portuguese))\b"
)
# How often something happens ("every Tuesday", "twice a week"): a habit, so durable even in a
# sentence that also says how it feels ("I fast every year, so I'm exhausted by the afternoon").
_HABITUAL = re.compile(
    r"\bevery (?:other |single )?(?:morning|afternoon|evening|day|night|weekday|weekend|week|"
    r"month|year|summer|winter|spring|autumn|term|(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
    r"\b|\b(?:once|twice|three times|\d+ times) a (?:day|week|month|year)\b"
)
_MEMBER = re.compile(
    r"\b(?:i'm|i am|we're|we are) (?:\w+ly )?(?:on|in|part of|a member of) (?:the|a|an|our|my) "
    r"(?:[\w'-]+ ){0,2}(?:board|team|committee|council|club|choir|band|group|union|league|"
    r"society|panel)\b"
)
_HYPOTHETICAL = re.compile(
    r"^(?:if|imagine|suppose|maybe|perhaps|hopefully|wish)\b|\bi wish\b|\b(?:i|we) might\b|"
    r"\bat some point\b"
)
_TRANSIENT = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|this (?:morning|afternoon|evening|week|weekend)|"
    r"last (?:night|weekend|week)|right now|just now|at the moment|earlier|this time|"
    r"on (?:mon|tues|wednes|thurs|fri|satur|sun)day|for (?:lunch|dinner|breakfast)|"
    r"so far|any minute|in a bit|later on)\b"
)
_FUTURE = re.compile(
    r"\b(?:next (?:month|year|spring|summer|autumn|fall|winter|term|semester)|"
    r"(?:this|the) (?:spring|summer|autumn|fall|winter|year)|later this year|one day|someday|"
    r"eventually|once|in (?:january|february|march|april|may|june|july|august|september|"
    r"october|november|december|spring|summer|autumn|winter|\w+ (?:months|years)))\b"
)
_IRREGULAR_PAST = _words(
    "went saw had ate bought met took made got did ran came found lost left felt thought told",
    "sent wrote heard caught drove flew gave kept slept spent sat stood won paid brought fell",
    "broke forgot began swam sang drank woke rode threw tore wore chose sold built burnt",
    "learnt dreamt",
)
_DURABLE_PAST = re.compile(
    r"\b(?:i|we) (?:\w+ )?(?:grew up|was born|were born|was diagnosed|got diagnosed|quit|"
    r"gave up|stopped|moved|relocated|trained as|studied|graduated|got married|married|"
    r"adopted|converted|retired|emigrated|switched|became|started (?:working|learning|"
    r"running|going)|first came|moved back)\b|\b(?:i|we)(?:'ve| have) (?:\w+ )?(?:been|lived|"
    r"worked|had|never|always|known|used|kept|owned|done|played|taught|studied|cut|given up|"
    r"stopped|quit|dropped|switched|gone)\b|\b(?:i|we) haven't\b|"
    r"\b(?:outside|opposite|next to|round the corner from|around the corner from) (?:my|our) "
    r"(?:door|house|flat|home|building|street|office|window)\b"
)
_PAST_ACTION = re.compile(
    rf"(?:^(?:[\w']+,? ){{0,3}}(?:i|we|(?:my|our) (?:\w+ ){{1,2}}?)(?:\w+ly |just |finally |"
    rf"also |then |even |all |both )?"
    rf"(?:\w+ed|{_IRREGULAR_PAST})\b(?!'))|"
    rf"(?:^(?:just |finally )?(?:\w+ed|{_IRREGULAR_PAST})\b(?!'))|"
    r"\b(?:finally|just|already) (?:put|set|cut|let|hit|shut)\b"
)
_ONGOING = _words(
    "learning training trying planning saving studying working living teaching raising doing",
    "hoping preparing recovering expecting applying taking writing building renovating",
    "looking fasting caring volunteering coaching growing",
)
_PROGRESSIVE = re.compile(
    r"^(?:[\w']+,? ){0,3}(?:i'm|i am|we're|we are) (?:\w+ly |still |just )?(\w+ing)\b"
)
# The exchange itself, not the speaker: thanks, agreement, apologies, promises and good wishes
# to the listener, how they are doing, what they look forward to ("I owe you one", "I won't let
# you down", "I'll be sure to give you a shout").
_SMALL_TALK = re.compile(
    r"^(?:sorry|thanks|thank you|cheers|congrats|congratulations|good luck|appreciate)\b|"
    r"\bi (?:really |truly |so |totally |just |do )?(?:appreciate|owe you)\b|"
    r"\bi (?:couldn't|could not|can't|cannot) agree more\b|"
    r"\bi (?:totally |completely |fully |100% |so )?agree\b|"
    r"\bi (?:definitely |totally |really |sure )?will[.!]*$|\bi promise\b|"
    r"\bi won't (?:let (?:you|anyone|them|this|it|that)\b|give up\b)|"
    r"\bi'll (?:be sure to|make sure to|let you know|keep you posted|give you a shout)\b|"
    r"\bi'm (?:doing )?(?:ok|okay|good|great|fine|well|alright)\b(?! at\b)|"
    r"\bi (?:can't|cannot) wait\b|\bi'm (?:really |so )?looking forward to\b"
)
# A general truth, not the speaker's: no "I", "my" or "me", and a gerund as its subject or a
# verdict as its predicate ("Having friends you can rely on makes a huge difference", "Family
# is everything"); or a thing as the subject and no "I" ("It gives me the strength to...").
_SINGULAR = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|my|me|mine|myself)\b")
_THING_SUBJECT = re.compile(r"^(?:but |and )?(?:it|it's|this|that|these|those|they|they're)\b")
_I_SUBJECT = re.compile(r"\b(?:i|i'm|i've|i'd|i'll)\b")
_IS_MINE = re.compile(  # "it's my second year teaching", "they're my twins"
    r"^(?:it's|it is|this is|that's|that is|these are|those are|they're|they are) (?:\w+ )?my\b"
)
_MAXIM = re.compile(
    r"^(?:[a-z]+ing|life|family|friendship|balance|kindness|nature|art|music)\b|"
    r"\b(?:is|are) (?:so |really |truly |just |always )?(?:key|everything|important|priceless|"
    r"essential|vital|what matters)\b"
)
_MOOD = re.compile(
    r"\b(?:i'm|i am|i feel|i'm feeling|we're|we are) (?:so |really |super |very |a bit |"
    r"kind of |kinda |pretty |quite |a little |totally |absolutely |weirdly |properly )?"
    r"(?:tired|hungry|bored|excited|stressed|sick|sad|happy|angry|annoyed|late|ready|done|"
    r"back|home|off|busy|nervous|worried|exhausted|sleepy|cold|hot|sore|full|stuck|"
    r"confused|curious|sure|glad|sorry|fine|ok|okay|good|great|awake|relieved|proud|"
    r"grateful|thankful|knackered|shattered|starving|freezing|productive|lazy|drained|"
    r"overwhelmed|fed up|grumpy|thrilled|delighted|gutted|impressed|amazed|surprised)\b"
)
_NOT_DURABLE_VERB = re.compile(
    r"\b(?:i|we) (?:\w+ly )?(?:need|want|wonder|think|guess|hope|mean|bet|suppose|reckon|"
    r"feel|have to|had to|wanna|gotta|would like|'d like|can't believe|can't wait|"
    r"forgot|remember|just|see|hear|agree|disagree|understand|get it|know)\b"
)
_DEMONSTRATIVE_TASTE = re.compile(
    r"\b(?:love|like|hate|enjoy|adore|dislike) (?:this|that|these|those|it|the new)\b"
)
_DURABLE_PRESENT = re.compile(
    r"\b(?:i|we) (?:\w+ly |always |usually |never |often |still |also |only |really |"
    r"basically |mostly |rarely |sometimes |normally )?(?!(?:am|was|were|have|has|had|do|"
    rf"did|will|would|could|should|{_IRREGULAR_PAST})\b)[a-z]+(?<!ed)(?<!ing)\b|"
    r"\b(?:i'm|i am|we're|we are) (?:\w+ly |also |more of |not )?(?:a|an|the) \w+|"
    r"\b(?:i'm|i am) (?:not )?"
    r"(?:good|bad|terrible|hopeless|great|useless|rubbish) (?:at|with)\b|"
    r"\b(?:i|we) (?:can't|cannot|won't|don't|do not|never|rarely|only|would rather|'d rather|"
    r"prefer)\b|\b(?:i'd|i would) (?:much |far )?rather\b|\b(?:i've|we've|i have|we have) "
    r"\w+ (?:for|since)\b|\b(?:my|our) (?:\w+ )?(?:french|english|german|spanish|dutch|arabic|"
    rf"italian|job|work|school|commute|landlord|house|flat|home|eyesight|hearing|back|knees?|"
    rf"budget|shift|shifts|{_RELATIONS}) (?:is|are|won't|doesn't|can't|has|have|lives|works)\b|"
    rf"\b(?:{_RELATIONS}) (?:\w+ )?(?:lives|live|works|work|is|are|has|have|can't|doesn't|"
    r"don't|won't)\b(?! \w+ing\b)|"
    r"\b(?:my|our) (?:[\w'-]+,? ){1,4}(?:is|are|has|have|expects|needs|wants|won't|doesn't|"
    r"don't|can't|gets|lives|live|works|work|loves|hates|only|goes|comes|takes|starts|runs|"
    r"costs)\b|"
    r"\b(?:i|we) (?:still |also |only )?"
    r"(?:have|own|keep|rent|share) (?:a|an|two|three|four|one|no|some|\d+) "
)
# The user as the one something happens to, in the present ("crowds give me panic attacks",
# "bright light triggers my migraines", "gluten is off the table for me", "no dairy for me"),
# or a lasting trait put as an adjective ("I'm left-handed").
_ABOUT_ME = re.compile(
    r"^(?!(?:it|it's|this|that|that's|these|those|here|there|you|your|he|she|they)\b)"
    r"(?:[\w'-]+ ){1,5}(?:(?:always|still|really|just|usually) )?(?:make|makes|give|gives|keep|"
    r"keeps|drive|drives|leave|leaves|scare|scares|terrify|terrifies|frighten|frightens|"
    r"trigger|triggers|set off|sets off|wreck|wrecks|upset|upsets|stress|stresses|calm|calms|"
    r"relax|relaxes|hurt|hurts|bother|bothers|exhaust|exhausts|disagree|disagrees|"
    r"tire|tires) (?:me|us|my|our)\b|"
    r"^(?!(?:it|it's|this|that|that's|these|those|here|there|you|your)\b)"
    r"(?:[\w'-]+ ){1,4}(?:is|are|isn't|aren't) (?:[\w'-]+ ){0,4}for (?:me|us)\b|"
    r"^no [\w'-]+(?: [\w'-]+)? for (?:me|us)\b|"
    r"\band (?:me|i) (?:don't|do not|never) (?:get along|get on|mix)\b|"
    r"\b(?:isn't|aren't|is not|are not|not) allowed (?:in|at) (?:my|our)\b|"
    r"^(?!(?:it|this|that|here|there)\b)[\w'-]+(?: [\w'-]+)? (?:is|are) (?:(?:really|very|"
    r"definitely) )?(?:my|our) (?:thing|passion|weakness|rule|happy place|go-to)\b|"
    r"\bthat's (?:my|our) (?:rule|thing)\b|"
    r"^(?:i'm|i am) (?:[a-z]+-[a-z]+|diabetic|epileptic|asthmatic|coeliac|celiac|deaf|blind|"
    r"dyslexic|autistic|anaemic|anemic|lactose intolerant|colou?r ?blind|teetotal|tall|short)"
    r"[.!]?$"
)


def sentences(text: str) -> list[str]:
    """Split a message into sentences, lines and semicolon clauses of three letters or more."""
    return [p for p in split_sentences(text, semicolons=True) if len(p) > 2]


def pieces(text: str) -> list[str]:
    """The sentences of a turn that extraction may embed (a fact, or one the fact model is
    asked about) in the words it uses, when there are several: a one-sentence turn is the
    turn itself."""
    parts = sentences(text)
    if len(parts) < 2:
        return []
    return [_clean(p) for p in parts if _analyse(p)[0] == "fact" or _could_state(p)]


def classify(sentence: str) -> str:
    """'fact', 'event' or 'other' for one sentence."""
    return _analyse(sentence)[0]


def extract(text: str, judge: Judge | None = None) -> list[Candidate]:
    """The durable facts stated in a user turn, one per sentence at most.

    With `judge` (the fact model), a sentence the rules did not take but that could state
    something lasting is a fact too when the model says so: with no slot (so it never
    supersedes one), or added to the fact of the sentence just before it ("I play drums in a
    covers band. Loud guitars are basically my therapy.").
    """
    parts = sentences(text)
    labels = [_analyse(sentence) for sentence in parts]
    open_ = [s for s, a in zip(parts, labels, strict=True) if a[0] != "fact" and _could_state(s)]
    taken = set(compress(open_, judge([_clean(s) for s in open_]))) if open_ and judge else set()
    found: list[Candidate] = []
    follows = False  # the sentence before was a fact
    for sentence, (label, category, slot, topic) in zip(parts, labels, strict=True):
        if label == "fact":
            found.append(Candidate(_clean(sentence), category, slot, topic))
        elif sentence in taken and follows:
            found[-1] = replace(found[-1], text=f"{found[-1].text} {_clean(sentence)}")
        elif sentence in taken:
            found.append(Candidate(_clean(sentence), _category(_normalize(sentence)), ""))
        follows = label == "fact" or sentence in taken
    return found


@functools.lru_cache(maxsize=512)  # pieces() and extract() ask about the same sentences
def _could_state(sentence: str) -> bool:
    """Whether a sentence could state something lasting about the speaker (or someone named):
    not a question, request, hypothetical, or how they feel right now."""
    s = _normalize(sentence)
    if not s or s.endswith("?") or _QUESTION.match(s) or _HYPOTHETICAL.search(s):
        return False
    if _REQUEST.match(s) or _TRANSIENT.search(s) or _MOOD.search(s) or _not_about_me(s):
        return False
    return bool(_PERSONAL.search(s) or _named(sentence, s))


def _not_about_me(s: str) -> bool:
    """Small talk, a general truth, or a thing's effect on the speaker: not a fact about them."""
    if _SMALL_TALK.search(s) or (_MAXIM.search(s) and not _SINGULAR.search(s)):
        return True
    return bool(_THING_SUBJECT.match(s) and not _I_SUBJECT.search(s) and not _IS_MINE.match(s))


def _named(sentence: str, s: str) -> bool:
    return bool(_NAMED.match(sentence.strip(" \t\"'*-")) and not _FIRST_PERSON.search(s))


@functools.lru_cache(maxsize=512)
def _analyse(sentence: str) -> tuple[str, str, str, str]:
    """(label, category, slot, topic) of one sentence; label is fact, event or other."""
    s = _normalize(sentence)
    none = ("other", "", "", "")
    s = re.sub(r"^(?:can|could|would|will) you (?:please )?(?=always |never )", "", s)
    if not s or s.endswith("?"):
        return none
    if _STYLE_WISH.match(s):  # before questions: "when you explain, ..." or "don't use emojis"
        rule = _rule(s)
        return ("fact", "style", *rule[1:]) if rule else ("fact", "style", "", "")
    if _QUESTION.match(s) or _HYPOTHETICAL.search(s) or _not_about_me(s):
        return none
    named = _named(sentence, s)
    refused = s.startswith("no ") and _ABOUT_ME.match(s)  # "no dairy for me", not a reply
    if (_REQUEST.match(s) and not refused) or not (named or _PERSONAL.search(s)):
        return none
    rule = _rule(s)
    if named and rule:  # someone else's fact never fills (or supersedes) the user's own slot
        rule = (rule[0], "", "")
    elif rule and rule[0] != "people" and _RELATIVE_SUBJECT.match(s):
        rule = ("people", "", "")
    habitual = _HABITUAL.search(s) and not _PAST_ACTION.search(s)
    if (_TRANSIENT.search(s) or _MOOD.search(s)) and not habitual:
        lasting = rule and rule[1] in ("home", "job", "condition", "diet", "plan")
        changed = _DURABLE_PAST.search(s)
        return ("fact", *rule) if lasting and changed else ("event", "", "", "")
    progressive = _PROGRESSIVE.search(s)
    if progressive and not rule:
        if _FUTURE.search(s):
            return "fact", "plan", "plan", ""
        if progressive.group(1) not in _ONGOING.split("|"):
            return "event", "", "", ""
        return "fact", _category(s), "", ""
    if _PAST_ACTION.search(s) and not _DURABLE_PAST.search(s):
        return ("fact", *rule) if rule and rule[0] in ("health", "place") else _event(s)
    if rule and not (rule[1] == "people" and _NOT_DURABLE_VERB.search(s)):  # "buy my niece..."
        return ("fact", *rule)
    if _DEMONSTRATIVE_TASTE.search(s) or _NOT_DURABLE_VERB.search(s):
        return ("other", "", "", "")
    if named:
        return "fact", "people", "", ""
    if habitual or _MEMBER.search(s) or _DURABLE_PAST.search(s) or _DURABLE_PRESENT.search(s):
        return "fact", _category(s), "", ""
    if _ABOUT_ME.search(s):
        return "fact", _category(s), "", ""
    return none


def _event(s: str) -> tuple[str, str, str, str]:
    return ("event", "", "", "") if _PERSONAL.search(s) else ("other", "", "", "")


def _rule(s: str) -> tuple[str, str, str] | None:
    """(category, slot, topic) of the first slot rule the sentence matches."""
    for pattern, category, slot, group in RULES:
        m = pattern.search(s)
        if m is None:
            continue
        topic = _topic(m, group) if group else ""
        if group and not topic:
            continue
        return category, slot, topic
    return None


_CATEGORY_WORDS = [
    ("people", _RELATIONS),
    ("health", "allergy allergic asthma doctor medication pills hay fever migraine hearing"),
    ("diet", "eat eating vegetarian vegan meat fish food cook cooking chilli spicy"),
    ("work", "teach teaching school job work office colleagues students class"),
    ("place", "live lived living city town belgium house flat neighbourhood"),
    ("language", "french english german spanish dutch arabic language fluent"),
    ("constraint", "can't cannot won't never avoid sick allowed"),
    ("preference", "love like enjoy prefer rather favourite fan"),
    ("dislike", "hate dislike cringe can't stand"),
]


def _category(s: str) -> str:
    words = set(re.findall(r"[a-z']+", s))
    for category, listed in _CATEGORY_WORDS:
        if words & set(listed.split()):
            return category
    return "habit" if re.search(r"\b(?:every|always|usually|often)\b", s) else "identity"


def _normalize(sentence: str) -> str:
    s = sentence.lower().replace("’", "'").replace("‘", "'").strip(" \t\"'*-")
    s = re.sub(r"\b(im|ive|dont|cant|wont|didnt|doesnt)\b", _apostrophe, s)
    s = re.sub(r"^(?:oh|ah|well|so|btw|also|and|but|yeah|hey|hi|fyi|honestly|actually|"
               r"by the way|for the record|just so you know|fun fact|to be honest|tbh)"
               r"[,:!]?\s+", "", s)  # fmt: skip
    s = re.sub(r"^(?:i think|i guess|i suppose|i mean)[,]?\s+", "", s)
    return s.strip()


def _apostrophe(m: re.Match[str]) -> str:
    word = m.group(1)
    return {"im": "i'm", "ive": "i've"}.get(word, word[:-1] + "'" + word[-1])


_STOP_TOPIC = {"a", "an", "the", "my", "any", "some", "to", "of", "it", "that", "this", "so"}


def _topic(m: re.Match[str], group: str) -> str:
    """The first content words of the matched topic, stemmed ('peanuts and fish' -> 'peanut')."""
    text = next((v for k, v in m.groupdict().items() if k.startswith(group) and v), "")
    words = re.split(r"\s+(?:and|or|but|so|because|since|when|if|as|with)\s+|[,;]", text)[0]
    kept = [w for w in re.findall(r"[a-z]+", words) if w not in _STOP_TOPIC][:2]
    topic = "-".join(terms(" ".join(kept)))  # stemmed like keywords
    return TOPIC_SYNONYMS.get(topic, TOPIC_SYNONYMS.get(topic.split("-")[0], topic))


def _clean(sentence: str) -> str:
    s = re.sub(r"\s+", " ", sentence).strip()
    return s[0].upper() + s[1:] if s else s
