#!/bin/sh
# Links scripts/solc-native-wrapper.js where py-solc-x (ape-solidity's compiler driver) looks for a
# native solc: solc-v<pinned npm solc version> in $SOLCX_BINARY_PATH, else ~/.solcx. Run by
# `make setup`; idempotent. An existing real solc of that version is left alone (with a note).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
wrapper="$root/scripts/solc-native-wrapper.js"
version=$(node -p "require(process.argv[1]).version" "$root/node_modules/solc/package.json")
dir=${SOLCX_BINARY_PATH:-$HOME/.solcx}
target="$dir/solc-v$version"

if [ -L "$target" ] && [ "$(readlink "$target")" = "$wrapper" ]; then
  exit 0  # already installed
fi
if [ -L "$target" ]; then
  case "$(readlink "$target")" in
    */scripts/solc-native-wrapper.js) ;;  # another checkout's wrapper (perhaps gone): take it over
    *) if [ -e "$target" ]; then
         echo "note: $target is not Sluice's solcjs wrapper; left as it is" >&2
         exit 0
       fi ;;
  esac
elif [ -e "$target" ]; then
  echo "note: $target exists (a native solc?); left as it is. ape compile then needs node_modules" \
    "imports and adds CBOR metadata: see scripts/solc-native-wrapper.js" >&2
  exit 0
fi
mkdir -p "$dir"
ln -sfn "$wrapper" "$target"
echo "linked $target -> scripts/solc-native-wrapper.js (solc $version for ape-solidity)"
