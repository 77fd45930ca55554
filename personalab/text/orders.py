"""Planted orders: text in a memory, fact or card that commands the assistant (not a wish)."""

from __future__ import annotations

import re
from functools import lru_cache

from personalab.text.sentences import split_sentences

# Each family is a kind of injection, named for the user. A user's own wishes ("always answer
# in Spanish", "ignore my last message") match none: the families need a role header, an
# order to drop the instructions, a new identity for the assistant, a word stamped on every
# answer, an order to reveal the prompt, or a claim of authority. Tuned on
# evaluation/data/injections_dev.yaml and LoCoMo conversations 1-5; `bench poison` reports
# them beside the test strings and conversations 6-10.
_EVERY_ANSWER = (
    r"(?:every|each|all)\s+(?:single\s+)?(?:answers?|repl(?:y|ies)|responses?|messages?|"
    r"recipes?|meals?)|chaque\s+réponse|toutes\s+(?:tes|vos|les)\s+réponses|jede[nrs]?\s+Antwort|"
    r"cada\s+(?:respuesta|resposta)|ogni\s+risposta|(?:elk|ieder)\s+antwoord|każdej\s+odpowiedzi|"
    r"her\s+(?:cevab|yanıt)|varje\s+svar|mọi\s+câu\s+trả\s+lời|каждо[мй]\s+ответе?|"
    r"кажд\w+\s+ответ|每[个次條条]?回答|所有回答|すべての回答|回答の(?:最初|最後)|毎回|모든\s*답변|"
    r"हर\s+(?:उत्तर|जवाब)|كل\s+(?:إجابة|رد|جواب)"
)
_OBJECTS = (
    r"instructions?|rules?|constraints?|restrictions?|profile|guidelines?|prompt|directions?|"
    r"policy|polic(?:ies)|allerg\w*|diet\w*|consignes?|règles|profil|contraintes?|Anweisungen|"
    r"Regeln|Profil|Vorgaben|Einschränkungen|instrucciones|reglas|perfil|restricciones|"
    r"instruções|regras|restrições|istruzioni|regole|profilo|vincoli|instructies|regels|"
    r"profiel|beperkingen|instrukcj\w*|polece\w*|zasad\w*|talimat\w*|kural\w*|instruktioner|"
    r"regler|profilen|hướng\s+dẫn|chỉ\s+dẫn|quy\s+tắc|hồ\s+sơ|инструкци\w*|правил\w*|"
    r"профил\w*|огранич\w*|指示|指令|规则|規則|设定|設定|限制|资料|ルール|プロフィール|制約|"
    r"지시|지침|규칙|프로필|निर्देश\w*|नियम\w*|प्रोफ़ाइल|التعليمات|القواعد|الملف"
)
_DROP = (
    r"\b(?:ignore|disregard|forget|override|bypass|do\s+not\s+follow|don't\s+follow|"
    r"ignor(?:e[rz]?|iere|a|e)|oublie[rz]?|vergiss|olvida|omite|esqueça|desconsidere|dimentica|"
    r"negeer|vergeet|zignoruj|ignoruj|zapomnij|ignorera|glöm|игнорируй|забудь)\b"
    r"|yok\s+say|görmezden\s+gel|unut|bỏ\s+qua|phớt\s+lờ|忽略|无视|無視|忘记|忘れ|무시|"
    r"अनदेखा|नज़रअंदाज़|भूल\s+जा|تجاهل|انس"
)
_MARKER = r"(?:(?<!\w)[\"'“「‘«]\S|\b[A-Z][A-Z0-9]{3,}(?:-[A-Z0-9]+)*\b)"  # 'quoted', CAPS-4
FAMILIES: dict[str, re.Pattern[str]] = {
    "a role header (a planted system or assistant turn)": re.compile(
        r"(?:^|\n)\s*(?:#+\s*|\[|<)?\s*(?:system|assistant|developer|tool(?:\s+result)?|admin)"
        r"\s*(?:override|prompt|message)?\s*(?:\]|>|:|：)"
        r"|(?m:^\s*#+\s*(?:system|instructions?)\s*$)"
        r"|</?(?:system|instructions?|context|user_profile|profile)>|\{\{\s*system\s*\}\}"
        r"|<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|\bEND\s+OF\s+(?:PROFILE|PROMPT|CONTEXT|INSTRUCTIONS)"
        r"|\bnew\s+(?:instructions?|task|policy|rules?)\s*:|システム[：:]|系统[：:]|系統[：:]",
        re.IGNORECASE,
    ),
    "an order to drop the instructions": re.compile(
        rf"(?:{_DROP})[^.!?\n。]{{0,40}}?(?:{_OBJECTS})|(?:{_OBJECTS})[^.!?\n。]{{0,12}}(?:{_DROP})",
        re.IGNORECASE,
    ),
    "a new identity for the assistant": re.compile(
        r"\byou\s+are\s+now\s+(?:an?|the|called|named|(?-i:[A-Z]))|\bfrom\s+now\s+on\s+you\s+are\b"
        r"|\bpretend\s+(?:to\s+be|you\s+are|you're)\s+(?:an?|the|my|(?-i:[A-Z]))\b"
        r"|\bstay\s+in\s+character\b|\bact\s+as\s+\w+\s+the\b"
        r"|\bno\s+(?:rules|limits|filters?)\b.{0,30}\b(?:AI|assistant|chatbot|bot)\b"
        r"|\b(?:AI|assistant|chatbot|bot)\s+"
        r"(?:with(?:out)?\s+(?:any\s+)?(?:rules|limits|filters?))|\bif\s+you\s+had\s+no\s+rules\b"
        r"|tu\s+es\s+maintenant|vous\s+êtes\s+maintenant|du\s+bist\s+jetzt|ahora\s+eres|"
        r"agora\s+você\s+é|ora\s+sei|je\s+bent\s+nu|jesteś\s+teraz|du\s+är\s+nu|теперь\s+ты|"
        r"你现在是|あなたは今から|너는\s*이제|artık\s+sen",
        re.IGNORECASE,
    ),
    "a word stamped on every answer": re.compile(
        rf"(?:begin|start|end|finish|sign|prefix|open|close|conclude)\w*\s+(?:{_EVERY_ANSWER})"
        rf"|(?:{_EVERY_ANSWER})[^.!?\n。]{{0,50}}(?:{_MARKER}|\b(?:code|word|phrase|name|link)\b)"
        rf"|{_MARKER}[^.!?\n。]{{0,50}}(?:{_EVERY_ANSWER})"
        r"|\breply\s+to\s+everything\s+with\b|!\[[^\]]*\]\(\s*https?://",
    ),
    "an order to reveal the instructions": re.compile(
        r"\b(?:print|repeat|reveal|recite|output|leak)\w*\s+(?:\w+\s+){0,3}?(?:profile|"
        r"instructions|system\s+prompt|prompt|private\s+notes)\b[^.!?\n]{0,30}(?:you\s+(?:were|"
        r"have\s+been)\s+given|word\s+for\s+word|verbatim|above)",
        re.IGNORECASE,
    ),
    "a claim of authority over the assistant": re.compile(
        r"\b(?:message|note|update|order|instruction)s?\s+(?:from|by)\s+(?:the\s+)?(?:developers?|"
        r"admin\w*|system|operator)\b|\bthe\s+(?:developers?|admin\w*)\s+(?:want|wants|says?|"
        r"ask\w*|told)\s+you\b|\b(?:as|i\s+am)\s+(?:the|your)\s+(?:admin\w*|developer|operator)\b"
        r"|\bi\s+authori[sz]e\s+you\b|\b(?:note|dear|attention|hey)\s*,?\s+(?:to\s+)?(?:the\s+)?"
        r"(?:AI|assistant|model|chatbot|LLM)\b|\b(?:tell|convince|persuade)\s+the\s+user\b|"
        r"\bthe\s+user\s+(?:asked|wants|told)\s+you\s+to\b",
        re.IGNORECASE,
    ),
}


# Every match of a family holds one of its words, in the text casefolded with single spaces and
# a space before it. A family is tried only on a text with one of them: ordinary text is told
# apart in a few microseconds (the patterns alone take about 0.4 ms).
_AI = ("ai", "assistant", "model", "chatbot", "llm")
_TRIGGERS = {
    "a role header (a planted system or assistant turn)": (
        "system", "assistant", "developer", "tool", "admin", "<", "[", "{{", "#", "instruction",
        "task", "polic", "rule", "profile", "prompt", "context", "システム", "系统", "系統",
    ),
    "an order to drop the instructions": (
        "ignor", "disregard", "forget", "override", "bypass", "follow", "oubli", "vergiss",
        "olvida", "omite", "esqueça", "desconsidere", "dimentica", "negeer", "vergeet",
        "zapomnij", "glöm", "игнор", "забудь", "yok", "görmezden", "unut", "bỏ", "phớt", "忽略",
        "无视", "無視", "忘", "무시", "अनदेखा", "नज़रअंदाज़", "भूल", "تجاهل", "انس",
    ),
    "a new identity for the assistant": (
        " are now", "now on you are", "pretend", "in character", "act as", "rules", "limits",
        "filter", "maintenant", "jetzt", "ahora", "agora", "ora sei", "bent nu", "teraz", "är nu",
        "теперь", "现在", "今から", "이제", "artık",
    ),
    "a word stamped on every answer": (
        "answer", "repl", "respon", "message", "recipe", "meal", "réponse", "antwort",
        "respuesta", "resposta", "risposta", "antwoord", "odpowiedzi", "cevab", "yanıt", "svar",
        "trả lời", "ответ", "回答", "毎回", "답변", "उत्तर", "जवाब", "إجابة", "رد", "جواب", "](",
    ),
    "an order to reveal the instructions": ("print", "repeat", "reveal", "recit", "output", "leak"),
    "a claim of authority over the assistant": (
        "developer", "admin", "system", "operator", "authori", "note", "dear", "attention",
        "the user", *(f" hey{c} {a}{b}" for c in ("", ",") for a in ("", "the ") for b in _AI),
    ),
}  # fmt: skip


@lru_cache(maxsize=8192)  # every fact and recalled turn is checked on every reply
def orders_in(text: str) -> str:
    """Why text reads as orders to the assistant (a family's name), or "" for ordinary text."""
    low = " " + " ".join(text.casefold().split())
    for name, pattern in FAMILIES.items():
        if any(t in low for t in _TRIGGERS[name]) and pattern.search(text):
            return name
    return ""


def without_orders(text: str) -> tuple[str, list[str]]:
    """text with its lines of orders left out (only the sentences that give them, where a
    line holds others too), and what was left out."""
    kept, dropped = [], []
    for line in text.split("\n"):
        if not orders_in(line):
            kept.append(line)
            continue
        parts = split_sentences(line)
        flagged = [p for p in parts if orders_in(p)]
        dropped += flagged or [line.strip()]  # the order spans sentences: the whole line
        if rest := flagged and " ".join(p for p in parts if p not in flagged):
            kept.append(rest)
    return "\n".join(kept), dropped
