# fish completion for machine: commands, flags and machine names.
# Load it with: machine completion fish | source
# or save it as ~/.config/fish/completions/machine.fish
function __machine_complete
    set -l line (commandline -opc)
    set -l cur (commandline -ct)
    # The binary prints the words that may follow the line typed so far
    # (with the word being completed, even empty, last); none means a file.
    set -l candidates ($line[1] $line[2..-1] "$cur" --generate-bash-completion 2>/dev/null)
    if test (count $candidates) -gt 0
        printf '%s\n' $candidates
    else
        __fish_complete_path "$cur"
    end
end
complete -c machine -f -a '(__machine_complete)'
