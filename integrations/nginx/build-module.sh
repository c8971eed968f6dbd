#!/usr/bin/env bash
# Builds ngx_http_jwtguard_module.so the way Debian built its nginx: a copy
# of nginx-dev's source tree (/usr/share/nginx/src), configured with
# Debian's own flags (conf_flags, --with-compat among them) plus this
# module, then `make modules`. Configure runs again only when the module's
# build description changed.
#   build-module.sh <work dir> <output .so> <libs...>
set -euo pipefail
work=$1
output=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
source_tree=${JWTGUARD_NGINX_SRC:-/usr/share/nginx/src}
export JWTGUARD_NGINX_LIBS="$*"

stamp="$work/configured-with"
wanted="$(cat "$here/config") $JWTGUARD_NGINX_LIBS"
if [ ! -f "$work/objs/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    cp -r "$source_tree"/. "$work"
    cd "$work"
    # shellcheck disable=SC1091
    . ./conf_flags
    ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$here" > configure.log 2>&1 ||
        { cat configure.log >&2; exit 1; }
    printf '%s' "$wanted" > "$stamp"
fi
cd "$work"
# nginx's Makefile does not know the module links the C++ library: relink.
rm -f objs/ngx_http_jwtguard_module.so
make -f objs/Makefile modules
cp objs/ngx_http_jwtguard_module.so "$output"
