"""e2echeck: the pass/fail bookkeeping the end-to-end scripts share.

check() counts a named check and prints a failure (or, with verbose, every
result); summary() prints the closing 'N passed, M failed' line that the
test harnesses read and returns the script's exit status.
"""
passed = failed = 0


def check(name, ok, detail="", verbose=False):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    if not ok or verbose:
        print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail else ""), flush=True)
    return ok


def summary():
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
