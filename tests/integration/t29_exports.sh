# libtern and its plugins export their API and nothing else: a training
# program that links libtern keeps its own parse_u32 or strmap_get, and a
# plugin offers tern_coll_plugin alone. Every declared TERN_API function is
# there.
. "$(dirname "$0")/lib.sh"

LIBDIR="$TERN_BIN/../lib"
command -v nm >/dev/null || { echo "skip - exported symbols: no nm (binutils)"; exit 0; }
[ -f "$LIBDIR/libtern.so" ] || fail "no $LIBDIR/libtern.so"

# exported FILE: the dynamic symbols FILE defines (the linker's own, _init,
# __bss_start and such, left out).
exported() { nm -D --defined-only "$1" | awk '{print $3}' | grep -v '^_' | sort; }

extra=$(exported "$LIBDIR/libtern.so" | grep -v '^tern_')
[ -z "$extra" ] || fail "libtern.so exports more than tern_*: $(echo $extra | head -c 400)"
declared=$(sed -n 's/^TERN_API [^(]*[ *]\(tern_[a-z0-9_]*\)(.*/\1/p' "$TESTS/../include/tern/tern.h" | sort)
[ "$(echo "$declared" | wc -l)" -ge 20 ] || fail "cannot read the API from tern.h: $declared"
missing=$(comm -23 <(echo "$declared") <(exported "$LIBDIR/libtern.so"))
[ -z "$missing" ] || fail "libtern.so does not export: $missing"
n=$(exported "$LIBDIR/libtern.so" | wc -l)
for so in "$LIBDIR"/libtern-*.so; do
    [ -f "$so" ] || continue
    [ "$(exported "$so")" = tern_coll_plugin ] || fail "$(basename "$so") exports: $(exported "$so" | head -c 400)"
done
ok "libtern.so exports its $n tern_* functions and nothing else; the plugins tern_coll_plugin alone"
