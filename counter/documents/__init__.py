"""The files the board takes away: PDF, DOCX, XLSX and CSV of the Phụ lục 4 report.

Every writer takes the ONE signed results document (the results JSON the counter stored)
through `model.report_model`, which itself reuses the print view's context, so no figure
can differ between the screen, the PDF, the Word file and the spreadsheet.
"""
