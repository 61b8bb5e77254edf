"""Conference reports (báo cáo hội nghị): ranking announcements, unit scorecards and the
periodic 766 report, as DOCX, PDF and XLSX, and their schedules.

Every report is built once as a :class:`chiso.reports.document.Document` (headings,
paragraphs, tables, images: plain data) by :mod:`chiso.reports.build`, then rendered by
:func:`chiso.reports.render.render` to any format, so the three formats never disagree.
"""
