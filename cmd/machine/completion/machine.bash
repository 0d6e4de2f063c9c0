# bash completion for machine: commands, flags and machine names.
# Load it with: source <(machine completion bash)
_machine_completion() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
    local IFS=$'\n'
    # The binary prints the words that may follow the line typed so far
    # (with the word being completed, even empty, last); compgen keeps those
    # that start with it.
    local candidates
    candidates=$("${words[0]}" "${words[@]:1}" "$cur" --generate-bash-completion 2>/dev/null) || return 0
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _machine_completion machine
