#!/bin/sh
# Print the name of every function declared RN_API in the public headers,
# sorted. Used to write lib/resnet.symbols and by the ABI tests.
# usage: tools/list_api.sh [include-dir]
dir=${1:-"$(dirname "$0")/../include"}
cat "$dir"/resnet.h "$dir"/resnet/*.h |
  sed -n 's/^RN_API[^(]*[^a-zA-Z0-9_]\(rn_[a-zA-Z0-9_]*\)[ ]*(.*/\1/p' | LC_ALL=C sort -u
