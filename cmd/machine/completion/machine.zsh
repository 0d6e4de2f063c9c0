#compdef machine
# zsh completion for machine: commands, flags and machine names.
# Load it with: source <(machine completion zsh)
# or save it as _machine in a directory of $fpath.
_machine() {
    local -a line candidates
    line=("${(@)words[1,CURRENT-1]}")
    # The binary prints the words that may follow the line typed so far
    # (with the word being completed, even empty, last).
    candidates=("${(@f)$("${line[1]}" "${(@)line[2,-1]}" "${words[CURRENT]}" --generate-bash-completion 2>/dev/null)}")
    candidates=("${(@)candidates:#}")
    if (( ${#candidates} )); then
        compadd -a candidates
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == "_machine" ]]; then
    _machine "$@"
else
    compdef _machine machine
fi
