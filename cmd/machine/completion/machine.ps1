# PowerShell completion for machine: commands, flags and machine names.
# Load it with: machine completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'machine', 'machine.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    # The words before the one being completed.
    $line = @($commandAst.CommandElements |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition } |
        ForEach-Object { $_.Extent.Text })
    $rest = @()
    if ($line.Count -gt 1) { $rest = $line[1..($line.Count - 1)] }
    # The binary prints the words that may follow the line typed so far,
    # with the word being completed last, even when empty: PowerShell before
    # 7.3 drops an empty argument to a native command unless it is quoted.
    $cur = $wordToComplete
    if ($cur -eq '' -and $PSVersionTable.PSVersion -lt [version]'7.3') { $cur = '""' }
    & $line[0] @rest $cur '--generate-bash-completion' 2>$null |
        Where-Object { $_ -like "$wordToComplete*" } |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
