Attribute VB_Name = "Backoffice"
' The Backoffice ribbon's buttons (addin/ribbon/customUI14.xml): one Sub per onAction, each
' running one Python entry point of addin/ribbon.py through xlwings' RunPython (the add-in's
' own `xlwings` module, from xlwings' open-source custom add-in template).
'
' The workbook Python works on is the caller xlwings passes along: RunPython names the
' ACTIVE workbook (--wb, or BOOK_CALLER), as xlwings' own add-in does, so xw.Book.caller() is
' the workbook the person is looking at, never this add-in (an .xlam is never active).
'
' Nothing a person types reaches Python as code: a module or report is chosen from a fixed
' list below (kept equal to the engine's by tests/unit/test_addin_file.py), a period is a
' year (2025), and PyText refuses any character outside letters, digits,
' "_", "." and "-" before quoting. No business rule lives here: Python checks everything.
'
' Keep this file ASCII: the VBA editor reads it in the system's code page.
Option Explicit

Private Const WORKBOOKS_OFFERED As String = "contacts,crm,inventory,ledger,office,quality,staff,team"
Private Const REPORTS_OFFERED As String = "asset-register,pack,staff,stock-valuation,trial-balance"
Private Const TEMPLATES_OFFERED As String = "announcement,details_check,overdue_reminder,task_reminder,welcome"

Public Sub BoNewWorkbook(control As IRibbonControl)
    Dim module As String
    module = ChooseFrom("New workbook", "Which workbook?", WORKBOOKS_OFFERED)
    If module = "" Then Exit Sub
    ' Python needs a calling workbook (xw.Book.caller()); with none open, a blank one calls.
    If ActiveWorkbook Is Nothing Then Workbooks.Add
    RunEntry "new_workbook(" & PyText(module) & ")"
End Sub

Public Sub BoValidate(control As IRibbonControl)
    If HasCaller() Then RunEntry "validate()"
End Sub

Public Sub BoSync(control As IRibbonControl)
    If HasCaller() Then RunEntry "sync()"
End Sub

Public Sub BoRefresh(control As IRibbonControl)
    If HasCaller() Then RunEntry "refresh()"
End Sub

Public Sub BoSyncDryRun(control As IRibbonControl)
    If HasCaller() Then RunEntry "sync_dry_run()"
End Sub

Public Sub BoReport(control As IRibbonControl)
    Dim report As String, period As String
    If Not HasCaller() Then Exit Sub
    report = ChooseFrom("Report", "Which report?", REPORTS_OFFERED)
    If report = "" Then Exit Sub
    period = AskPeriod()
    If period = "" Then Exit Sub
    RunEntry "report(" & PyText(report) & ", " & PyText(period) & ")"
End Sub

Public Sub BoMailPreview(control As IRibbonControl)
    ' The rows are the selection Python reads from the caller; the template is asked here.
    Dim template As String
    If Not HasCaller() Then Exit Sub
    template = ChooseFrom("Mail-merge preview", "Which letter or e-mail?", TEMPLATES_OFFERED)
    If template = "" Then Exit Sub
    RunEntry "mail_preview(" & PyText(template) & ")"
End Sub

Public Sub BoWhoAmI(control As IRibbonControl)
    If HasCaller() Then RunEntry "who_am_i()"
End Sub

' --- helpers ---------------------------------------------------------------------------

Private Sub RunEntry(pythonCall As String)
    ' Every button ends here: one line of Python, `import addin.ribbon; addin.ribbon.<call>`.
    Application.StatusBar = "Backoffice: working..."
    RunPython "import addin.ribbon; addin.ribbon." & pythonCall
    Application.StatusBar = False
End Sub

Private Function HasCaller() As Boolean
    ' The buttons work on the open workbook: say so when there is none.
    HasCaller = Not (ActiveWorkbook Is Nothing)
    If Not HasCaller Then
        MsgBox "Open a Backoffice workbook first (or make one with New workbook).", vbInformation, "Backoffice"
    End If
End Function

Private Function ChooseFrom(title As String, question As String, offered As String) As String
    ' One of the names in `offered` (comma-separated), typed or chosen by its number; "" when
    ' cancelled. Anything else is asked again: only a listed name ever leaves this function.
    Dim names() As String, listing As String, answer As String, i As Integer
    names = Split(offered, ",")
    For i = 0 To UBound(names)
        listing = listing & vbNewLine & (i + 1) & "  " & names(i)
    Next i
    Do
        answer = Trim$(InputBox(question & vbNewLine & listing & vbNewLine & vbNewLine & _
                                "Type a number or a name:", title))
        If answer = "" Then
            ChooseFrom = ""
            Exit Function
        End If
        For i = 0 To UBound(names)
            If answer = CStr(i + 1) Or LCase$(answer) = names(i) Then
                ChooseFrom = names(i)
                Exit Function
            End If
        Next i
        MsgBox """" & answer & """ is not on the list; type one of the numbers or names shown.", _
               vbExclamation, title
    Loop
End Function

Private Function AskPeriod() As String
    ' What a report covers: a year (2026), a month (2026-11) or a day (2026-11-30), as the
    ' report takes it (Python reads it with the report's own options); "" when cancelled.
    Dim answer As String
    Do
        answer = Trim$(InputBox("Which period does the report cover? A year (" & Year(Date) & ") for the staff " & _
                                "report, a month (" & Format$(DateAdd("m", -1, Date), "yyyy-mm") & ") for the pack.", _
                                "Report", Format$(DateAdd("m", -1, Date), "yyyy-mm")))
        If answer = "" Then
            AskPeriod = ""
            Exit Function
        End If
        If answer Like "####" Or answer Like "####-##" Or answer Like "####-##-##" Then
            AskPeriod = answer
            Exit Function
        End If
        MsgBox """" & answer & """ is not a period; type a year like " & Year(Date) & " or a month like " & _
               Format$(DateAdd("m", -1, Date), "yyyy-mm") & ".", vbExclamation, "Report"
    Loop
End Function

Private Function PyText(value As String) As String
    ' `value` as a Python string literal in single quotes. Only letters, digits, "_", "." and
    ' "-" are let through: no quote, backslash, "|" (which splits xlwings' call on macOS) or
    ' shell character can reach the command line RunPython builds.
    Dim i As Integer, c As String
    If Len(value) = 0 Or Len(value) > 64 Then Err.Raise vbObjectError + 513, "Backoffice", "Not a name: " & value
    For i = 1 To Len(value)
        c = Mid$(value, i, 1)
        If Not (c Like "[A-Za-z0-9]" Or c = "_" Or c = "." Or c = "-") Then
            Err.Raise vbObjectError + 513, "Backoffice", "Not a name: " & value
        End If
    Next i
    PyText = "'" & value & "'"
End Function
