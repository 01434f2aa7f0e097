#!/usr/bin/env bash
# Usage: check_branch_free.sh OBJECT FUNCTION... — fails if a function's disassembly (objdump, x86-64)
# holds a conditional jump (j<cc>, jmp excepted) or a conditional move (cmov<cc>): those make the
# running time or the memory trace depend on the (secret) argument.
set -euo pipefail
obj=$1
shift
command -v objdump >/dev/null || { echo "objdump not found"; exit 1; }
status=0
for fn in "$@"; do
  body=$(objdump -d --no-show-raw-insn "$obj" | awk -v f="<$fn>:" '$2 == f {on = 1; next} on && /^$/ {exit} on')
  if [ -z "$body" ]; then echo "$fn: not found in $obj"; status=1; continue; fi
  bad=$(printf '%s\n' "$body" | grep -E '\s(j[a-ln-z][a-z]*|jm[a-oq-z]|cmov[a-z]+)\s' || true)
  if [ -n "$bad" ]; then
    echo "$fn: secret-dependent branch or conditional move:"
    printf '%s\n' "$bad"
    status=1
  else
    echo "$fn: branch-free ($(printf '%s\n' "$body" | wc -l) instructions)"
  fi
done
exit $status
