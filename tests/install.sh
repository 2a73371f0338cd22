#!/bin/sh
# install.sh — `make install DESTDIR=...` of the build tree, then what a user
# of the installed copy meets: a C program built against libcertnn through
# pkg-config (shared, and static with --static), which loads the installed
# zoo model and property and must agree with the installed certnn; the
# exported symbols; the man page certnn(1) rendered by man; the bash
# completion; the VNN-COMP scripts set to run the installed certnn; and
# `make uninstall` leaving nothing behind.
set -u
. "${CN_SRCDIR:-.}/tests/tap.sh"

R="$T/root"
# a make of its own (not the jobserver of a `make check` that runs this test)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$B" "$@"; }

expect 0 "make install DESTDIR" mk install DESTDIR="$R"
# one installed file by its place in the tree: found FILE-PATTERN
found() { find "$R" -path "$1" \( -type f -o -type l \); }
pc=$(found '*/pkgconfig/certnn.pc')
check '[ -n "$pc" ] && [ "$(echo "$pc" | wc -l)" -eq 1 ]' "certnn.pc installed once (${pc#"$R"})"
pcdir=$(dirname "$pc")
# the installed file's own paths (without DESTDIR)
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir certnn)
includedir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=includedir certnn)
pkgdatadir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=pkgdatadir certnn)
check '[ "$R$libdir" = "$pcdir/.." ] || [ "$(cd "$R$libdir" && pwd)" = "$(cd "$pcdir/.." && pwd)" ]' \
    "certnn.pc's libdir is where it was installed ($libdir)"
PKG_CONFIG_PATH="$pcdir" pkg-config --cflags certnn >"$T/cflags"
has_text "$T/cflags" "-I$includedir/certnn" "pkg-config --cflags names the installed headers"
check '[ "$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion certnn)" = "$("$C" --version | sed "s/^certnn //")" ]' \
    "pkg-config --modversion is certnn --version"
for f in libcertnn.so libcertnn.a; do
    check '[ -e "$R$libdir/$f" ]' "$f installed in $libdir"
done
check '[ -f "$R$includedir/certnn/certnn.h" ] && [ -f "$R$includedir/certnn/models/models.h" ] &&
       [ -f "$R$includedir/certnn/verifier/options.h" ]' "certnn.h and the module headers installed"
check '[ -z "$(find "$R$includedir/certnn" -name config.h -o -name "*_int.h")" ]' \
    "no config.h and no internals header installed"
cbin=$(found '*/bin/certnn')
check '[ -n "$cbin" ] && [ -x "$cbin" ]' "certnn installed (${cbin#"$R"})"
zoo="$R$pkgdatadir/models/zoo"
for f in acasxu_1_1.nnet acasxu_prop3.vnnlib fmnist_ibp.onnx README.md; do
    check 'cmp -s "$zoo/$f" "$S/models/zoo/$f"' "share/certnn/models/zoo/$f installed"
done

# Only the public prefixes are exported (no module-internal __ names but the
# one CN_REQUIRE calls, no generated protobuf code).
nm -D --defined-only "$R$libdir/libcertnn.so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' >"$T/syms"
has "$T/syms" '^vfy_verify$' "libcertnn.so exports vfy_verify"
has "$T/syms" '^net_load$' "libcertnn.so exports net_load"
check '! grep -Ev "^((cn|net|prop|ds|bnd|atk|lp|cert|vfy)_[A-Za-z0-9]|cn__require_failed$)" "$T/syms" >"$T/extra"' \
    "libcertnn.so exports only cn_ net_ prop_ ds_ bnd_ atk_ lp_ cert_ vfy_ names"
sed 's/^/#   extra: /' "$T/extra" | head -5

# The C program: loads the model and the property (paths on its command line),
# evaluates the network at the centre of the property's first input box, and
# decides the property; a missing file must come back as certnn's message.
cat >"$T/prog.c" <<'EOF'
#include <certnn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    cn_err err;
    net *n = NULL;
    prop *p = NULL;
    if (argc == 2) {   /* a file that is not there */
        if (net_load(argv[1], &n, &err) == CN_OK)
            return 1;
        printf("error %s: %s\n", cn_status_str(err.status), err.msg);
        return 0;
    }
    if (argc != 3 || net_load(argv[1], &n, &err) != CN_OK ||
        prop_parse_vnnlib(argv[2], &p, &err) != CN_OK) {
        fprintf(stderr, "prog: %s\n", argc == 3 ? err.msg : "usage: prog MODEL PROP");
        return 2;
    }
    printf("inputs %d outputs %d relus %d\n", net_in_size(n), net_out_size(n), net_n_relus(n));
    vfy_opts o;
    vfy_opts_init(&o);
    o.threads = 2;
    o.timeout_s = 120;
    vfy_result r;
    vfy_result_init(&r);
    if (vfy_verify(n, p, &o, NULL, &r, &err) != CN_OK) {
        fprintf(stderr, "prog: %s\n", err.msg);
        return 2;
    }
    printf("verdict %s\n", vfy_verdict_name(r.verdict));
    vfy_result_clear(&r);
    prop_free(p);
    net_free(n);
    return 0;
}
EOF
# the build's compiler and flags (a sanitizer build's libcertnn.so needs its
# runtime in the program too)
mkvar() { sed -n "s/^$1 = //p" "$B/Makefile" | head -1; }
cc=${CC:-$(mkvar CC)}
bflags="$(mkvar CFLAGS) $(mkvar LDFLAGS)"
flags=$(PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs certnn)
expect 0 "cc prog.c \$(pkg-config --cflags --libs certnn)" \
    $cc -std=c11 -Wall -Wextra -Werror $bflags -o "$T/prog" "$T/prog.c" $flags
check 'readelf -d "$T/prog" | grep -q "NEEDED.*libcertnn\.so"' "prog links libcertnn.so"
# static: libcertnn.a and what pkg-config --static adds (Libs.private, Requires.private)
sflags=$(PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_PATH="$pcdir" pkg-config --static --libs certnn |
    sed 's/ -lcertnn / /')
expect 0 "cc prog.c libcertnn.a \$(pkg-config --static --libs certnn)" \
    $cc -std=c11 $bflags -o "$T/prog_static" "$T/prog.c" $(PKG_CONFIG_SYSROOT_DIR="$R" \
    PKG_CONFIG_PATH="$pcdir" pkg-config --cflags certnn) "$R$libdir/libcertnn.a" $sflags
check '! readelf -d "$T/prog_static" | grep -q "libcertnn"' "prog_static needs no libcertnn.so"

model="$zoo/acasxu_1_1.nnet"
property="$zoo/acasxu_prop3.vnnlib"
expect 0 "prog on the installed zoo model and property" \
    env LD_LIBRARY_PATH="$R$libdir" "$T/prog" "$model" "$property"
cp "$T/out" "$T/prog.out"
# what the installed certnn says: shape from info --json, verdict from the exit code
"$cbin" info --json "$model" >"$T/info.json" 2>/dev/null
v() { sed -n "s/^ *\"$1\": *\([0-9]*\).*/\1/p" "$T/info.json" | head -1; }
check '[ -n "$(v relus)" ] && grep -qx "inputs $(v inputs) outputs $(v outputs) relus $(v relus)" "$T/prog.out"' \
    "prog's inputs, outputs and ReLUs are certnn info's"
"$cbin" verify "$model" --vnnlib "$property" -q >/dev/null 2>&1
case $? in 0) want=unsat ;; 1) want=sat ;; 2) want=unknown ;; 3) want=timeout ;; *) want=error ;; esac
check 'grep -qx "verdict $want" "$T/prog.out"' "prog's vfy_verify verdict is certnn verify's ($want)"
check '[ "$want" = unsat ]' "certnn verify proves the zoo's property 3 (unsat)"
expect 0 "prog_static (no LD_LIBRARY_PATH) agrees" "$T/prog_static" "$model" "$property"
check 'cmp -s "$T/out" "$T/prog.out"' "static and shared programs print the same"
expect 0 "prog on a missing file" env LD_LIBRARY_PATH="$R$libdir" "$T/prog" "$T/none.onnx"
has "$T/out" "^error .*none\.onnx" "the library's message names the missing file"

# The man page: certnn(1), rendered by man, lists every subcommand and every
# option of each (from the same tables as --help).
man1=$(found '*/man1/certnn.1')
check '[ -n "$man1" ]' "certnn.1 installed (${man1#"$R"})"
if [ -n "$man1" ]; then
    MANWIDTH=80 LC_ALL=C man -l "$man1" >"$T/man.txt" 2>"$T/man.err"
    rc=$?
    check '[ "$rc" -eq 0 ] && [ ! -s "$T/man.err" ]' "man -l renders certnn.1 without warnings"
    sed 's/^/#   /' "$T/man.err" | head -5
    has "$T/man.txt" "^NAME" "the rendered page has NAME"
    has "$T/man.txt" "^EXIT STATUS" "the rendered page has EXIT STATUS"
    cmds=$("$C" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
    missing=""
    for c in $cmds; do
        grep -q "^ *certnn $c\$" "$T/man.txt" || missing="$missing $c"
        for o in $("$C" "$c" --help | sed -n 's/^  *\(-., \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p'); do
            grep -q -- "$o" "$T/man.txt" || missing="$missing $c$o"
        done
    done
    check '[ -n "$cmds" ] && [ -z "$missing" ]' "the man page has every subcommand and option${missing:+ (missing:$missing)}"
fi

# The bash completion: sourced by bash, it completes subcommands and options.
comp=$(found '*/bash-completion/completions/certnn')
check '[ -n "$comp" ]' "bash completion installed (${comp#"$R"})"
complete_words() { # complete_words WORD...: what bash completes for the last word
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _certnn;
             printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" "$@" 2>&1
}
check 'bash -c ". \"\$1\"; complete -p certnn" sh "$comp" | grep -q -- "-F _certnn"' \
    "sourcing it registers the completion of certnn"
check '[ "$(complete_words certnn ver)" = verify ]' "certnn ver<TAB> completes to verify"
check '[ "$(complete_words certnn verify --vnnl)" = --vnnlib ]' "certnn verify --vnnl<TAB> completes to --vnnlib"
check '[ "$(complete_words certnn check --pub)" = --pubkey ]' "certnn check --pub<TAB> completes to --pubkey"
check '[ "$(complete_words certnn verify --vnnlib "")" = "" ]' \
    "after --vnnlib the completion leaves the file name to bash"
all=$(complete_words certnn "" | tr '\n' ' ')
missing=""
for c in $cmds; do case " $all " in *" $c "*) ;; *) missing="$missing $c" ;; esac; done
check '[ -z "$missing" ]' "certnn <TAB> offers every subcommand${missing:+ (missing:$missing)}"

# The VNN-COMP scripts in share/certnn run the installed certnn.
bindir=$(dirname "${cbin#"$R"}")
vc="$R$pkgdatadir/benchmarks/vnncomp"
check '[ -x "$vc/run_instance.sh" ] && [ -x "$vc/prepare_instance.sh" ]' "VNN-COMP scripts installed"
has_text "$vc/run_instance.sh" "$bindir/certnn" "run_instance.sh runs $bindir/certnn"
expect 0 "installed prepare_instance.sh on the zoo (CERTNN: the DESTDIR copy)" \
    env CERTNN="$cbin" bash "$vc/prepare_instance.sh" v1 test "$model" "$property"

# make uninstall removes every file make install put there.
expect 0 "make uninstall DESTDIR" mk uninstall DESTDIR="$R"
left=$(find "$R" -type f -o -type l | sed "s|^$R||" | head -5 | tr '\n' ' ')
check '[ -z "$left" ]' "nothing left after make uninstall${left:+ ($left)}"

tap_end install.sh
