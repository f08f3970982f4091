"""The texts of a report made by text message (the source texts are the msgids; `notifier.po` translates them).

Service names, attribute questions and values come from the jurisdiction's catalogue and are shown as they are.
"""

from __future__ import annotations

from civicloop_notifier.domain.texts import N_

ASK_CATEGORY = N_("What kind of problem is it? Reply with its number:")
ASK_CATEGORY_OR_WORD = N_("Or reply with a word about it.")
NO_CATEGORIES = N_("Sorry, reports by text message are not open here yet. Please call 311.")
CATEGORY_CHOSEN = N_("Got it: %(service)s.")
ASK_ADDRESS = N_("Where is it? Send the street address (e.g. 12 Main St). Send EXIT to give up.")
ADDRESS_NOT_FOUND = N_(
    "We could not find that place in our area. Please send a street address, e.g. 12 Main St."
)
GEOCODER_UNAVAILABLE = N_(
    "We cannot look up addresses right now. Please send the address again in a few minutes."
)
ASK_WHICH_PLACE = N_("Which place? Reply with its number, or send the address again:")
ASK_ONE_NUMBER = N_("Reply with one number.")
ASK_NUMBERS = N_("Reply with one or more numbers, e.g. 1 3.")
ASK_A_NUMBER = N_("Reply with a number.")
ASK_A_DATE = N_("Reply with a date, e.g. 2026-05-31 or 2026-05-31 14:30.")
NOT_UNDERSTOOD = N_("Sorry, we did not understand.")
CONFIRM = N_("Send this report? %(service)s at %(address)s. Reply OK to send it, or NO to cancel.")
SUBMITTED = N_("Thank you: your report is on its way. You will get its number in a moment.")
SUBMISSION_REFUSED = N_("Sorry, we could not file this report. Please call 311.")
SUBMISSION_UNAVAILABLE = N_("We could not send your report just now. Reply OK to try again.")
CANCELLED = N_("Your report was cancelled. Text us again any time.")


def every_msgid() -> list[str]:
    """Every source text of the conversation, for the catalogs' completeness check."""
    return [
        ASK_CATEGORY,
        ASK_CATEGORY_OR_WORD,
        NO_CATEGORIES,
        CATEGORY_CHOSEN,
        ASK_ADDRESS,
        ADDRESS_NOT_FOUND,
        GEOCODER_UNAVAILABLE,
        ASK_WHICH_PLACE,
        ASK_ONE_NUMBER,
        ASK_NUMBERS,
        ASK_A_NUMBER,
        ASK_A_DATE,
        NOT_UNDERSTOOD,
        CONFIRM,
        SUBMITTED,
        SUBMISSION_REFUSED,
        SUBMISSION_UNAVAILABLE,
        CANCELLED,
    ]
