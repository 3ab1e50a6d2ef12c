"""Whether a secret file is open to other users: warnings to show, never the file's content.

    for warning in check_key_file(path):
        log.warning(warning)

A service-account key signs in as the account: whoever can read the file can
edit every sheet shared with it, and whoever can change it can swap the
account. Like ssh with a private key, creditsheet says so when the file's
permissions let other users of the machine read or change it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Read or write permission for the file's group and for everyone else.
_GROUP = stat.S_IRGRP | stat.S_IWGRP
_OTHERS = stat.S_IROTH | stat.S_IWOTH


def check_key_file(path: Path) -> list[str]:
    """Warnings about who else can use the key file at ``path`` (none when it is private).

    A missing or unreadable file gives no warning here: loading it says what is wrong.
    """
    if os.name != "posix":
        return []
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & _OTHERS:
        who = "every user of this machine"
    elif mode & _GROUP:
        who = "the users of its group"
    else:
        return []
    return [
        f"the service-account key file {path} can be read or changed by {who} "
        f"(mode {stat.S_IMODE(mode):04o}); anyone who can read it can edit every sheet "
        f"shared with the account: make it private with `chmod 600 {path}`"
    ]
