"""Which passwords are refused beyond being too short, as Django's validators refuse them: all
digits, the user's own name, and the well-known ones guessers try first.

The list is short on purpose: a password of 10 or more characters that is guessed early is nearly
always a common word or keyboard run with digits or symbols around it, so the word is what is
looked up (`Password123!` is `password`). Nothing is fetched at run time.
"""

from __future__ import annotations

import string

MIN_PASSWORD = 10
ADVICE = "choose a few unrelated words, like 'lantern orbit cellar'"

# Words and runs at the top of every public list of leaked passwords, lower case.
COMMON = frozenset(
    """
    password passw0rd p@ssw0rd p@ssword passwort motdepasse contraseña senha wachtwoord
    qwerty qwertz azerty qwertyuiop qwertyuiopasdf asdfghjkl asdfgh asdf zxcvbnm zxcvbn
    qazwsx qazwsxedc qazwsxedcrfv zaqxsw 1qaz2wsx 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4
    q1w2e3r4t5 abc abcd abcdef abcdefg abcdefgh abcdefghij abc123 aaaaaa
    iloveyou loveyou lovely letmein welcome welcome1 admin administrator root login guest
    user test tester testing default changeme secret master trustno1 access superman batman
    spiderman ironman starwars pokemon dragon monkey shadow sunshine princess football
    baseball basketball soccer hockey michael jordan jennifer jessica ashley daniel thomas
    charlie robert matthew andrew joshua hunter ranger buster tigger summer winter spring
    autumn flower freedom whatever nothing hello hellothere helloworld computer internet
    samsung iphone google facebook linkedin microsoft windows apple killer hottie lovers
    cookie chocolate banana orange cheese pepper ginger maggie bailey sophie mustang
    harley yankees liverpool chelsea arsenal barcelona juventus london berlin paris
    kiosk hallway hallwaykiosk raspberry raspberrypi moderator company office
    """.split()
)


def password_problem(password: str, user: str = "") -> str | None:
    """Why `password` will not do (a sentence ending in what to choose instead), or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password is too short: use at least {MIN_PASSWORD} characters; {ADVICE}"
    lower = password.lower()
    if password.isdigit():
        return f"the password is only digits, which are guessed first; {ADVICE}"
    if user and len(user) >= 3 and user.lower() in lower:
        return f"the password contains the user name; {ADVICE}"
    core = lower.strip(string.digits + string.punctuation + string.whitespace)
    if len(set(lower)) < 4 or lower in COMMON or core in COMMON or len(core) < 4:
        return f"the password is one of the first that guessers try; {ADVICE}"
    return None
