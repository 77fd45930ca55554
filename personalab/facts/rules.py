"""The slot rules of the fact extractor: which statement fills which slot of the fact layer."""

import re

CATEGORIES = (
    "identity", "health", "diet", "people", "place", "work", "preference", "dislike",
    "habit", "constraint", "plan", "style", "pets", "language", "belief",
)  # fmt: skip

SINGLE = {
    "name", "age", "home", "origin", "job", "education", "diet", "alcohol", "caffeine",
    "smoking", "car", "religion", "relationship", "answer-length", "answer-language",
    "answer-tone", "budget", "schedule", "sleep",
}  # fmt: skip

# (pattern, category, slot, topic group or None). The first pattern that matches wins.
# A topic group names the regex group whose words become the topic (stemmed).
_RULES: list[tuple[re.Pattern[str], str, str, str | None]] = [
    (r"\b(?:keep|make) (?:it|them|things|(?:your |the )?(?:answers?|replies|responses|"
     r"explanations?))\b.*\b(?:short|brief|concise|simple|detailed|long)|\b(?:short|long|"
     r"quick) version\b|\b(?:short|brief|concise|detailed|longer|bullet[- ]point)"
     r" (?:answers?|replies|responses|explanations?|summaries)\b", "style", "answer-length", None),
    (r"\b(?:answer|reply|respond|write|talk to me) (?:to me )?in (?P<t>[a-z]+)\b|"
     r"\bin (?P<t2>[a-z]+),? please\b", "style", "answer-language", None),
    (r"\b(?:no|avoid|without|skip the|don't use|do not use) (?:jargon|technical terms|emojis?|"
     r"slang|small talk)|\b(?:explain|talk) (?:it |things )?(?:to me )?like\b|"
     r"\bplain (?:english|language|words)\b|\b(?:formal|casual|friendly) tone\b",
     "style", "answer-tone", None),
    (r"\bmy name is\b|\bcall me\b|\bi'?m called\b", "identity", "name", None),
    (r"(?<!by the time )(?<!when )(?<!until )(?<!before )(?<!once )"
     r"\b(?:i'?m|i am|i turned|i just turned) (?:\d{1,3}|(?:twenty|thirty|forty|fifty|sixty|"
     r"seventy|eighty|ninety)[- a-z]*)(?: years? old)?\b(?! (?:minutes|hours|days|weeks|months|"
     r"km|miles|kilos|kg|pounds|euros|dollars))", "identity", "age", None),
    (r"\ballerg(?:ic|y|ies) (?:to )?(?P<t>[a-z' -]+)|\b(?P<t2>[a-z]+) allerg(?:y|ies)\b|"
     r"\b(?:intoleran(?:t|ce)) (?:to )?(?P<t3>[a-z -]+)|\b(?P<t4>[a-z]+)[- ]intoleran(?:t|ce)\b",
     "health", "allergy", "t"),
    (r"\b(?:i'?m|i am|we'?re|we are)(?: (?:a|an|strictly|fully|mostly|now|completely|"
     r"basically|kind of|pretty much|still|also))* "
     r"(?P<t>vegetarian|vegan|pescatarian|pescetarian|veggie|plant-based|carnivore|omnivore|"
     r"flexitarian|keto|paleo)\b|\b(?:vegetarian|vegan|plant-based|pescatarian) (?:diet|"
     r"since|for)\b|\b(?:i|we) (?:don't|do not|never|no longer|stopped eating|gave up) "
     r"(?:eat|eating) (?:any )?(?:meat|animal products)\b|\b(?:i|we) eat meat\b",
     "diet", "diet", None),
    (r"\b(?:halal|kosher)\b", "belief", "religion", None),
    (r"\b(?:i|we) (?:don't|do not|never|can't|cannot|can not|no longer|try not to|avoid(?:ing)?) "
     r"(?:eat|eating|have|touch|use|cook with)? ?(?:any )?(?P<t>pork|beef|meat|fish|seafood|"
     r"shellfish|dairy|eggs?|gluten|wheat|sugar|nuts|peanuts|lactose|milk|cheese|onions?|"
     r"garlic|spicy food|red meat|chicken|mushrooms?|soy|sesame)\b", "diet", "avoid", "t"),
    (r"\b(?:i|we) (?:don't|do not|never|no longer|can't|stopped|quit|gave up) (?:drink(?:ing)?)"
     r"(?! (?:coffee|tea|caffeine|milk|soda|fizzy))|\b(?:sober|teetotal|alcohol[- ]free|"
     r"don't touch alcohol)\b|\b(?:i|we) (?:drink|love) (?:wine|beer|whisky|cocktails)\b",
     "habit", "alcohol", None),
    (r"\b(?:coffee|caffeine|espresso)\b.*\b(?:don't|never|avoid|no|cut out|quit|can't|keeps me)"
     r"\b|\b(?:don't|never|avoid|can't|quit|stopped) (?:drink(?:ing)? )?(?:any )?(?:coffee|"
     r"caffeine)\b", "habit", "caffeine", None),
    (r"\b(?:smok(?:e|er|ing)|vap(?:e|ing)|cigarettes?)\b", "habit", "smoking", None),
    (r"\bdiagnosed with (?P<t>[a-z' -]+)|\b(?:i|we) (?:have|got|live with|suffer from|manage) "
     r"(?:a |an |type \d |chronic |mild |severe )?(?P<t2>coeliac|celiac|diabetes|asthma|"
     r"arthritis|migraines?|epilepsy|adhd|autism|dyslexia|anxiety|depression|ibs|"
     r"crohn's|a bad (?:back|knee|hip)|high blood pressure|tinnitus|long covid|[a-z]+ "
     r"disease|[a-z]+ syndrome|[a-z]+ condition|[a-z]+ intolerance)|\b(?:i'?m|i am) "
     r"(?:[a-z-]+ )?(?P<t3>diabetic|asthmatic|epileptic|anaemic|anemic|pregnant|blind|deaf|"
     r"partially sighted|"
     r"colou?r ?blind|dyslexic|autistic|hard of hearing|in a wheelchair|disabled|"
     r"immunocompromised)\b|"
     r"\b(?:i|we) use (?:a |an )?(?P<t4>wheelchair|walking stick|cane|hearing aids?|"
     r"screen reader|crutches|insulin pump)\b|\b(?:i|we) (?:can't|cannot) (?P<t5>see|hear|"
     r"walk)\b|\b(?:i|we) have no (?P<t6>sight|hearing)\b", "health", "condition", "t"),
    (r"\b(?:i|we) (?:live|am living|'m living|'re living) (?:in|at|near|on)\b|"
     r"\b(?:i'?m|i am|we'?re) based in\b|\b(?:i|we) (?:just |recently )?(?:moved|relocated) "
     r"(?:to|into|back to)\b|\bmy (?:home|flat|apartment|house) is in\b", "place", "home", None),
    (r"\b(?:i'?m|i am) (?:originally )?from\b|\b(?:i|we) grew up (?:in|on|near)\b|"
     r"\bi was born in\b", "place", "origin", None),
    (r"\b(?:i|we) (?:work|am working|'m working) (?:as|at|for|in)\b|\bmy job\b|"
     r"\b(?:i'?m|i am) (?:a|an) (?:[a-z]+ )?(?:teacher|nurse|doctor|engineer|developer|"
     r"programmer|designer|lawyer|accountant|student|chef|manager|consultant|writer|"
     r"researcher|scientist|pharmacist|architect|electrician|plumber|driver|farmer|"
     r"journalist|midwife|paramedic|freelancer|barista|cashier|carer|librarian|"
     r"translator|photographer|musician|artist|therapist|vet|dentist|surgeon|pilot|"
     r"professor|lecturer|analyst|technician|mechanic|baker|firefighter|officer)\b|"
     r"\b(?:i'?m|i am) (?:retired|unemployed|self-employed|a stay-at-home)\b|"
     r"\b(?:i|we) run (?:a|my own)\b|\bi work\b[^.;]{0,30}\bas an? \w+|\bmy (?:employer|"
     r"workplace|company)\b", "work", "job", None),
    (r"\b(?:i|we) (?:study|am studying|'m studying|major in)\b|\b(?:i'?m|i am) (?:doing|in) "
     r"(?:a|my) (?:degree|phd|masters|master's|bachelor's|apprenticeship)\b",
     "work", "education", None),
    (r"\b(?:i'?m|i am) (?:a |an )?(?:muslim|christian|jewish|hindu|buddhist|sikh|catholic|"
     r"atheist|agnostic|religious|mormon)\b|\b(?:i|we) (?:observe|keep|fast for|celebrate) "
     r"(?:ramadan|shabbat|the sabbath|lent|diwali)\b", "belief", "religion", None),
    (r"\b(?:i'?m|i am) (?:married|single|divorced|widowed|engaged|separated)\b|"
     r"\bmy (?:husband|wife|partner|boyfriend|girlfriend|fianc[ée]e?)\b",
     "people", "relationship", None),
    (r"\bmy (?:little |older |younger |big |twin |kid |baby |step-?)?(?P<t>son|daughter|kids?|"
     r"children|sister|brother|mum|mom|mother|dad|father|parents|grand(?:ma|pa|mother|father|"
     r"son|daughter|kids|children)|uncle|aunt|cousin|niece|nephew|baby|toddler|"
     r"flatmate|roommate|boss|best friend|in-laws)\b|\b(?:i|we) have (?:a|an|one|two|three|four|"
     r"five|\d+) (?:[a-z-]+ )?(?P<t2>sons?|daughters?|kids|children|sisters?|brothers?|"
     r"grandchildren|grandkids)\b", "people", "people", "t"),
    (r"\bmy (?:[a-z]+ )?(?P<t>dog|cat|puppy|kitten|rabbit|hamster|parrot|horse|fish|"
     r"tortoise|guinea pig|bird)s?\b|\b(?:i|we) (?:have|own|got) (?:a|an|two|three|\d+) "
     r"(?:[a-z-]+ )?(?P<t2>dog|cat|puppy|kitten|rabbit|hamster|parrot|horse|tortoise|"
     r"guinea pig|bird)s?\b|\b(?P<t3>collie|sheepdog|labrador|spaniel|terrier|poodle|"
     r"retriever|beagle|greyhound|dachshund|husky|pug|whippet|lurcher|tabby)\b",
     "pets", "pet", "t"),
    (r"\b(?:i|we) (?:speak|understand|read|am learning|'m learning|learn) (?:a (?:bit|little) "
     r"of |some |basic |fluent |only )?(?P<t>[a-z]+)\b(?=.*\b(?:fluent|native|basic|little|"
     r"bit|well|only|learning|language)\b|[.!,]?$)|\bmy (?:first|native|mother) "
     r"(?:language|tongue) is (?P<t2>[a-z]+)|\b(?P<t3>[a-z]+) is my (?:first|native|second) "
     r"language", "language", "language", "t"),
    (r"\b(?:i|we) (?:don't|do not) (?:have|own) (?:a |any )?car\b|\b(?:i|we) (?:don't|do not|"
     r"can't|cannot|never) drive\b|\bno (?:car|driving licen[cs]e|driver's license)\b|"
     r"\b(?:i|we) (?:drive|have a car|own a car)\b", "constraint", "car", None),
    (r"\b(?:my|our) (?:monthly |weekly |food |travel |total )?budget\b|\b(?:i|we) (?:can|could) "
     r"(?:only )?(?:spend|afford)\b|\b(?:on|have) a (?:tight|small|limited) budget\b|"
     r"\b(?:i|we) (?:can't|cannot) afford\b", "constraint", "budget", None),
    (r"\b(?:i|we) (?:work|do) (?:night|early|late) shifts?\b|\b(?:i|we) work (?:nights|weekends)"
     r"\b|\bmy shifts?\b|\b(?:i'?m|i am) (?:only )?free (?:on|after|before)\b",
     "constraint", "schedule", None),
    (r"\b(?:i'?m|i am) (?:not |more of |more )?(?:a |an )?(?:night owl|early riser|"
     r"(?:morning|evening|night) person|light sleeper|heavy sleeper|insomniac)\b|"
     r"\b(?:i|we) (?:go to bed|wake up|get up) (?:at|around|before|after)\b",
     "habit", "sleep", None),
    (r"\b(?:i'?m|i am) (?:afraid|scared|terrified|frightened) of (?P<t>[a-z -]+)|"
     r"\b(?:fear|phobia) of (?P<t2>[a-z -]+)|\b(?P<t3>[a-z]+)phobi[ac]\b",
     "constraint", "fear", "t"),
    (r"\b(?:i|we) (?:can't|cannot|can not|am not able to|'m not able to|am unable to|"
     r"'m unable to|shouldn't|must not|mustn't|am not allowed to|'m not allowed to) "
     r"(?P<t>[a-z]+(?: [a-z]+)?)", "constraint", "cannot", "t"),
    (r"\b(?:i|we) (?:don't|do not) (?:have|own) (?:a |an |any )?(?P<t>[a-z]+)|"
     r"\b(?:i|we) have no (?P<t2>[a-z]+)", "constraint", "lack", "t"),
    (r"\bmy (?:all-time )?fav(?:ou?rite)? (?P<t>[a-z]+(?: [a-z]+)?) (?:is|are)\b",
     "preference", "favourite", "t"),
    (r"\b(?:i|we) (?:really |absolutely |just |totally )?(?:hate|dislike|detest|can't stand|"
     r"cannot stand|don't like|do not like|don't enjoy|am not a fan of|'m not a fan of|"
     r"am not into|'m not into) (?P<t>[a-z' -]+)", "dislike", "taste", "t"),
    (r"\b(?:i|we) (?:really |absolutely |just |totally )?(?:love|like|enjoy|adore|prefer|"
     r"am into|'m into|am a (?:big )?fan of|'m a (?:big )?fan of|am obsessed with|"
     r"'m obsessed with|am passionate about|'m passionate about) (?P<t>[a-z' -]+)",
     "preference", "taste", "t"),
    (r"\b(?:i|we) (?:always|usually|normally|never|rarely|often|tend to|try to) "
     r"(?P<t>[a-z]+(?: [a-z]+)?)|\bevery (?:morning|evening|day|night|weekend|week|sunday|"
     r"saturday)\b", "habit", "habit", "t"),
    (r"\b(?:i'?m|i am|we'?re|we are) (?:training|saving|preparing|studying|applying|planning|"
     r"hoping|aiming|trying) (?:for|to|up for) (?P<t>[a-z]+(?: [a-z]+)?)|\bmy (?:goal|dream|"
     r"plan) is\b|\b(?:i|we) (?:want|hope|plan|intend|aim) to (?P<t2>[a-z]+(?: [a-z]+)?)|"
     r"\b(?:i'?m|i am) (?:learning|getting married|moving|expecting|retiring)\b",
     "plan", "plan", "t"),
]  # fmt: skip
RULES = [(re.compile(p), c, s, g) for p, c, s, g in _RULES]

# Topics that name the same thing (after stemming): "can't see" is "blind".
TOPIC_SYNONYMS = {
    "see": "blind", "sight": "blind", "hear": "deaf", "hear-aid": "deaf", "walk": "mobil",
    "celiac": "coeliac", "coeliac-diseas": "coeliac", "celiac-diseas": "coeliac",
    "prawn": "shellfish", "crustacean": "shellfish", "mollusc": "shellfish",
    "colli": "dog", "sheepdog": "dog", "labrador": "dog", "spaniel": "dog", "terrier": "dog",
    "poodl": "dog", "retriev": "dog", "beagl": "dog", "greyhound": "dog", "dachshund": "dog",
    "huski": "dog", "pug": "dog", "whippet": "dog", "lurcher": "dog", "puppi": "dog",
    "kitten": "cat", "tabbi": "cat", "mum": "mother", "mom": "mother", "dad": "father",
    "kid": "children", "child": "children",
}  # fmt: skip
