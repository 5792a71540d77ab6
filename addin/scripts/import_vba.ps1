# Finish Backoffice.xlam on Windows: import addin\vba\*.bas into its VBA project with Excel.
#
#   powershell -ExecutionPolicy Bypass -File addin\scripts\import_vba.ps1 out\Backoffice.xlam
#
# Needs Excel, and once: File > Options > Trust Center > Trust Center Settings > Macro Settings >
# "Trust access to the VBA project object model" (this script checks and says so).
# What it does, in a hidden Excel of its own (your open Excel windows are not touched):
#   1. opens the add-in built by `backoffice addin build`;
#   2. imports every addin\vba\*.bas (replacing a module of the same name);
#   3. removes the template's sample ribbon module RibbonMyAddin (its button is gone already);
#   4. names the project BackofficeAddin and xlwings' settings PROJECT_NAME "backoffice", so
#      RunPython reads its settings from %USERPROFILE%\.backoffice\backoffice.conf;
#   5. imports the worksheet functions (BO_ONHAND, ...: addin.functions, named by the add-in's
#      backoffice.conf sheet) with xlwings' ImportPythonUDFsToAddin, which runs Python once:
#      the Python of step 1 of the README, with this project installed;
#   6. saves the add-in and quits that Excel. On any error nothing is saved.
param(
    [Parameter(Mandatory = $true)][string]$Addin,
    [string]$VbaFolder = (Join-Path $PSScriptRoot "..\vba")
)
$ErrorActionPreference = "Stop"
$addinPath = (Resolve-Path -LiteralPath $Addin).Path
$modules = Get-ChildItem -LiteralPath (Resolve-Path -LiteralPath $VbaFolder).Path -Filter *.bas
if ($modules.Count -eq 0) { throw "No .bas files in $VbaFolder" }

$excel = New-Object -ComObject Excel.Application
$excel.Visible = $false
$excel.DisplayAlerts = $false
$book = $null
$temp = Join-Path ([IO.Path]::GetTempPath()) ("backoffice-vba-" + [guid]::NewGuid())
try {
    $book = $excel.Workbooks.Open($addinPath)
    try { $project = $book.VBProject; $null = $project.VBComponents.Count }
    catch {
        throw ("Excel refuses access to the VBA project. In Excel: File > Options > Trust Center > " +
               "Trust Center Settings > Macro Settings > tick 'Trust access to the VBA project object model', " +
               "then run this script again.")
    }
    New-Item -ItemType Directory -Path $temp | Out-Null
    foreach ($module in $modules) {
        # The VBA editor wants Windows line ends and the system code page: the files are ASCII.
        $text = (Get-Content -LiteralPath $module.FullName -Raw) -replace "`r?`n", "`r`n"
        $copy = Join-Path $temp $module.Name
        [IO.File]::WriteAllText($copy, $text, [Text.Encoding]::ASCII)
        $name = [IO.Path]::GetFileNameWithoutExtension($module.Name)
        foreach ($component in @($project.VBComponents)) {
            if ($component.Name -eq $name) { $project.VBComponents.Remove($component) }
        }
        $null = $project.VBComponents.Import($copy)
        Write-Output "imported $($module.Name)"
    }
    foreach ($component in @($project.VBComponents)) {
        if ($component.Name -eq "RibbonMyAddin") {
            $project.VBComponents.Remove($component)
            Write-Output "removed the template's RibbonMyAddin"
        }
    }
    $code = $project.VBComponents.Item("xlwings").CodeModule
    for ($line = 1; $line -le $code.CountOfLines; $line++) {
        if ($code.Lines($line, 1) -match '^Public Const PROJECT_NAME As String = ') {
            $code.ReplaceLine($line, 'Public Const PROJECT_NAME As String = "backoffice"')
        }
    }
    $project.Name = "BackofficeAddin"
    # xlwings reads its settings from the active workbook first: give it an empty one to look at.
    $scratch = $excel.Workbooks.Add()
    try { $null = $excel.Run("'" + $book.Name + "'!ImportPythonUDFsToAddin") }
    catch {
        throw ("Importing the worksheet functions failed: Excel could not run Python with addin.functions. " +
               "Check that 'python -c ""import addin.functions""' works in a terminal (see the README, step 1), " +
               "then run this script again. ($($_.Exception.Message))")
    }
    finally { $scratch.Close($false) }
    Write-Output "imported the worksheet functions (addin.functions)"
    $book.Save()
    Write-Output "saved $addinPath; next: backoffice addin install --file `"$addinPath`""
}
finally {
    if ($book -ne $null) { $book.Close($false) }
    $excel.Quit()
    [void][Runtime.InteropServices.Marshal]::ReleaseComObject($excel)
    if (Test-Path -LiteralPath $temp) { Remove-Item -LiteralPath $temp -Recurse -Force }
}
