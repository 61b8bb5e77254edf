"""Fill Vietnamese translations into the catalogue from a Python file holding a dict ``T``
(msgid -> msgstr), touching only those entries; then run scripts/i18n.sh to compile.

    .venv/bin/python scripts/translate.py my_translations.py
"""

import runpy
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).parents[1] / "src/chiso/locale/vi/LC_MESSAGES/chiso.po"


def main(path: str) -> None:
    table = runpy.run_path(path)["T"]
    with PO.open("rb") as f:
        catalog = read_po(f)
    done = 0
    for message in catalog:
        if message.id in table and message.string != table[message.id]:
            message.string = table[message.id]
            done += 1
    with PO.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, sort_output=True, no_location=True)
    print(f"{done} translations written to {PO}")


if __name__ == "__main__":
    main(sys.argv[1])
