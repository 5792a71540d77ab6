-- Finish Backoffice.xlam on macOS: Excel for Mac has no scripting access to a VBA project,
-- so the import itself is done by hand in Excel's VB editor; this script does the rest and
-- shows the steps (the README's "Excel add-in: install" section has the same ones).
--
--   osascript addin/scripts/import_vba.applescript /path/to/Backoffice.xlam /path/to/addin/vba
--
-- An .xlam finished on Windows (import_vba.ps1) works unchanged on a Mac: an office with a
-- Windows PC can finish it there once and hand the file to every Mac.
on run argv
	if (count of argv) is less than 2 then error "usage: osascript import_vba.applescript Backoffice.xlam addin/vba"
	set addinFile to POSIX file (item 1 of argv)
	set vbaFolder to POSIX file (item 2 of argv)
	tell application "Microsoft Excel"
		activate
		open addinFile
	end tell
	tell application "Finder"
		reveal vbaFolder
	end tell
	tell application "Microsoft Excel"
		display dialog "Backoffice.xlam is open. In Excel:" & return & ¬
			"1. Tools > Macro > Visual Basic Editor." & return & ¬
			"2. Select the project BackofficeAddin or MyAddin (Backoffice.xlam)." & return & ¬
			"3. File > Import File..., choose Backoffice.bas from the folder shown in Finder." & return & ¬
			"4. Right-click the module RibbonMyAddin > Remove RibbonMyAddin > Don't Export." & return & ¬
			"5. In the module xlwings, change PROJECT_NAME = \"myaddin\" to \"backoffice\"." & return & ¬
			"6. Tools > VBAProject Properties: Project Name BackofficeAddin." & return & ¬
			"7. File > Save Backoffice.xlam, quit Excel (Cmd-Q)." & return & ¬
			"Then run: backoffice addin install --file Backoffice.xlam" buttons {"OK"} default button "OK"
	end tell
end run
