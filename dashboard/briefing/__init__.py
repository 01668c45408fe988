"""A province's monthly briefing (issue 18), one click on the profile page or a command:
Word and PDF, with the headline figures and ranks, the target outlook, the Decision 766
groups, what needs attention, the lagging communes, three charts and the sources; demo data
marked demo. ``content`` gathers it, ``render`` lays it out; ``python -m dashboard.briefing``
(and its front door ``python -m etl briefing``) writes one per province. docs/briefing.md."""

