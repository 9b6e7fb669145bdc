"""Which passwords Oktopus accepts: long enough, not the username, not among the commonest.

The commonest passwords come from zxcvbn (its ranked list of 30,000 leaked passwords plus
dictionaries, keyboard walks, repeats and sequences), not from a list kept here by hand.
"""

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# zxcvbn scores 0-4 by estimated guesses: below 2 means under a million guesses, what an online
# attacker tries first (every top-30,000 password, "aaaaaaaaaa", "password1234", "1234567890").
MIN_STRENGTH_SCORE = 2
# zxcvbn refuses longer input (its matching is superlinear); the first 72 characters decide.
STRENGTH_CHECK_LENGTH = 72


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why `password` is refused, in words that never repeat it; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "The password must not be only whitespace"
    if username is not None and password.strip().casefold() == username.strip().casefold():
        return "The password must not be the username"
    from zxcvbn import zxcvbn  # its dictionaries take 14 MiB: loaded only where passwords are set

    user_inputs = [username] if username else []
    estimate = zxcvbn(password[:STRENGTH_CHECK_LENGTH], user_inputs=user_inputs)
    if estimate["score"] < MIN_STRENGTH_SCORE:
        warning = estimate["feedback"].get("warning")
        reason = f" ({warning.rstrip('.')})" if warning else ""
        return f"The password is too easy to guess{reason}; choose a longer, less common one"
    return None
