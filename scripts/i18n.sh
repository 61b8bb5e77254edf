#!/usr/bin/env bash
# Refresh the gettext catalogues: extract messages, merge them into each language's .po,
# compile the .mo files that chiso loads. Translate the new entries of vi/.po, then run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
LOCALE=src/chiso/locale
$PYBABEL -q extract -F babel.cfg -k _ -k ngettext:1,2 --no-location --sort-output \
  --project chiso --copyright-holder "chiso contributors" -o $LOCALE/chiso.pot . >/dev/null
for lang in vi en; do
  if [ -f $LOCALE/$lang/LC_MESSAGES/chiso.po ]; then
    $PYBABEL -q update -D chiso -i $LOCALE/chiso.pot -d $LOCALE -l $lang --no-fuzzy-matching --ignore-obsolete >/dev/null
  else
    $PYBABEL -q init -D chiso -i $LOCALE/chiso.pot -d $LOCALE -l $lang >/dev/null
  fi
done
$PYBABEL -q compile -D chiso -d $LOCALE --use-fuzzy >/dev/null
