"""Volunteer rosters: one service module per area (the only place that writes volunteer data).

roster: teams, volunteers, members, skills, availability, search; service: activities, sign-in
and sign-out, hours by the rules, approval, corrections; stars: star levels, public notice,
certificates; timebank: the time-bank ledger; rotas: duty and patrol rotas; needs: residents'
needs matched to helpers; demo: the demo data; export: the national system's upload sheet.
"""
