# Helpers the .ci scripts share (sourced, not run).

# install_packages PKG...: installs the Debian packages that are missing (apt-get, as root or
# through sudo); nothing when all are there.
install_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "moescope: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# timed LABEL COMMAND...: runs the command and prints its wall time; returns its status.
timed() {
  local label=$1 start rc=0
  shift
  start=$(date +%s)
  "$@" || rc=$?
  echo "moescope CI: $label took $(($(date +%s) - start)) s$([[ $rc -eq 0 ]] || echo " (FAILED, exit $rc)")"
  return $rc
}
