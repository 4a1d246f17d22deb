# Sourced by the setup scripts: where the project's Python 3.10 and its cached environments are.
# Rasa 3.6 needs Python < 3.11; pyenv's 3.10.13 is preferred, else any python3.10 on PATH.

ENV_ROOT="${BANKBOT_ENV_ROOT:-$HOME/.cache/bankbot}"

find_python() {
  local candidate
  if command -v pyenv >/dev/null 2>&1; then
    candidate="$(pyenv root)/versions/3.10.13/bin/python3.10"
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  fi
  command -v python3.10 || true
}
