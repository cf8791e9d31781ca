# shellcheck shell=bash
# Reading qemu-patches/series, for configure-wrapper/prepare-tree and
# scripts/export-series (sourced; needs $top, the repository's root).
: "${top:?series.sh: set top to the repository root before sourcing it}"
#
# Each line of the series names a patch file and then the files of ours
# that the patch adds to QEMU's tree, as repository paths.  Every file in a
# directory that configure-wrapper/overlays maps into the tree belongs to
# exactly one patch, so that the series that is posted and the tree that is
# built are the same.

# "PATCH [FILE...]" per entry, comments and blank lines dropped.
series_entries() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$1/series"
}

# Where the repository file $1 goes in QEMU's tree.
series_tree_path() {
    local from to
    while read -r from to; do
        case $from in ''|'#'*) continue ;; esac
        case $1 in "$from"/*) echo "$to/${1#"$from"/}"; return 0 ;; esac
    done <"$top/configure-wrapper/overlays"
    return 1
}

# Check the series against the patch files and our directories; print what
# is wrong and fail.
series_check() {
    local dir=$1 bad=0 p f listed
    listed=$(mktemp)
    while read -r p rest; do
        [ -f "$dir/$p" ] || { echo "series names $p, but $dir/$p does not exist"; bad=1; }
        for f in $rest; do
            echo "$f" >>"$listed"
            if [ ! -f "$top/$f" ]; then
                echo "series: $p adds $f, which does not exist"; bad=1
            elif ! series_tree_path "$f" >/dev/null; then
                echo "series: $p adds $f, which is in no directory of configure-wrapper/overlays"; bad=1
            fi
        done
    done < <(series_entries "$dir")
    for f in $(sort "$listed" | uniq -d); do
        echo "series: $f is added by more than one patch"; bad=1
    done
    while read -r from to; do
        case $from in ''|'#'*) continue ;; esac
        [ -d "$top/$from" ] || continue
        for f in $(cd "$top" && find "$from" -type f ! -name 'README*' ! -name '*~' | sort); do
            grep -qxF "$f" "$listed" || { echo "series: no patch adds $f"; bad=1; }
        done
    done <"$top/configure-wrapper/overlays"
    rm -f "$listed"
    return $bad
}
