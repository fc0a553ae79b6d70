#!/usr/bin/env bash
# Check or apply .clang-format (written for clang-format 14) to C files.
#
#   bash tools/format.sh [FILE...]          # check: list the files it would change, and
#                                           # how many lines; exit 1 when there are any
#   bash tools/format.sh --diff [FILE...]   # the same, with the changes as a diff
#   bash tools/format.sh --apply [FILE...]  # format the files in place
#   bash tools/format.sh --all              # check every tracked C file (the figure of
#                                           # what formatting the whole tree would change)
#
# Without FILE (and without --all): the tracked .c and .h files changed since they
# left FORMAT_BASE (default main; HEAD when there is no such branch), committed or not.
# Generated files (tests/data/) are never touched, nor the public headers (include/:
# tables of constants laid out by hand; include/.clang-format disables formatting
# there for editors too). CLANG_FORMAT names the binary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  for c in clang-format-14 clang-format; do command -v "$c" >/dev/null && { cf=$c; break; }; done
fi
[ -n "$cf" ] || { echo "format.sh: no clang-format (apt-get install clang-format)" >&2; exit 2; }

mode=check all=0
files=()
for a in "$@"; do
  case $a in
    --apply) mode=apply ;;
    --diff) mode=diff ;;
    --all) all=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "format.sh: unknown option $a" >&2; exit 2 ;;
    *) files+=("$a") ;;
  esac
done
if [ "$all" = 1 ]; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
elif [ ${#files[@]} -eq 0 ]; then
  base=${FORMAT_BASE:-main}
  git rev-parse -q --verify "$base^{commit}" >/dev/null || base=HEAD
  mapfile -t files < <({ git diff --name-only --diff-filter=ACMR "$(git merge-base "$base" HEAD)" -- '*.c' '*.h'
                         git ls-files --others --exclude-standard -- '*.c' '*.h'; } | sort -u)
fi

# Checking: one clang-format run over all the files says whether any would change;
# only then is each file counted (one run per file is slow on a large list).
if [ "$mode" = check ]; then
  checked=()
  for f in "${files[@]}"; do
    case $f in tests/data/* | include/*) continue ;; esac
    [ -f "$f" ] && checked+=("$f")
  done
  if [ ${#checked[@]} -eq 0 ] ||
    "$cf" --style="file:$top/.clang-format" --dry-run --Werror "${checked[@]}" >/dev/null 2>&1; then
    echo "format.sh: 0 lines in 0 files would change (of ${#files[@]} checked)"
    exit 0
  fi
fi

changed_files=0 changed_lines=0
for f in "${files[@]}"; do
  case $f in tests/data/* | include/*) continue ;; esac
  [ -f "$f" ] || continue
  if [ "$mode" = apply ]; then
    "$cf" --style="file:$top/.clang-format" -i "$f"
    continue
  fi
  # lines of the file that formatting would rewrite (removed or replaced)
  n=$("$cf" --style="file:$top/.clang-format" "$f" | diff "$f" - | grep -c '^<' || true)
  [ "$n" -gt 0 ] || continue
  changed_files=$((changed_files + 1)) changed_lines=$((changed_lines + n))
  echo "$f: $n lines"
  [ "$mode" = diff ] && { "$cf" --style="file:$top/.clang-format" "$f" | diff -u --label "a/$f" --label "b/$f" "$f" - || true; }
done
[ "$mode" = apply ] && exit 0
echo "format.sh: $changed_lines lines in $changed_files files would change (of ${#files[@]} checked)"
[ "$changed_files" -eq 0 ]
