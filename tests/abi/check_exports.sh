#!/bin/sh
# The shared library exports exactly the committed symbol list, every public
# declaration is in it, and it imports none of exit/abort/printf/puts and no
# stdout/stderr writer.
# usage: check_exports.sh LIBRESNET_SO SYMBOLS_FILE INCLUDE_DIR LIST_API_SH
so=$1 symbols=$2 inc=$3 list_api=$4
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | LC_ALL=C sort -u > "$tmp/exported"
LC_ALL=C sort -u "$symbols" > "$tmp/committed"
sh "$list_api" "$inc" > "$tmp/declared"
if ! diff -u "$tmp/committed" "$tmp/exported"; then
  echo "exported symbols differ from $symbols (run tools/update_symbols.sh if intended)"
  fail=1
fi
if ! diff -u "$tmp/committed" "$tmp/declared"; then
  echo "declared API differs from $symbols"
  fail=1
fi
bad=$(nm -D --undefined-only "$so" | awk '{print $2}' | sed 's/@.*//' |
  grep -E '^(exit|_exit|_Exit|abort|printf|puts|putchar|fprintf|vprintf|vfprintf|fputs|fputc|perror|fwrite|stdout|stderr|__printf_chk|__fprintf_chk|__vfprintf_chk)$')
if [ -n "$bad" ]; then
  echo "libresnet imports forbidden symbols: $bad"
  fail=1
fi
n=$(wc -l < "$tmp/exported")
if [ "$fail" = 0 ]; then echo "1 passed, 0 failed ($n exported symbols)"; else echo "0 passed, 1 failed"; fi
exit $fail
