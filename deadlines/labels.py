"""Every word the feeds and the subscribe page show a person, one table per language.

Feed descriptions and summaries (`feeds.py`) and the subscribe page (`server.py`, keys
`page.*`) read the same table, so a language is added in one place. Who must act is not here:
a party's label is the rulebook's (`parties: {KEY: {label: {en, fr}}}`); only the words of the
format itself (either party, each of them, ...) are.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "region": "region",
        "who": "Who must act", "owner": "Owner", "ours": "our side",
        "theirs": "the counterparty",
        "what": "What", "if_missed": "If missed", "status": "Status", "due": "Due",
        "due_day": "by the end of {day} ({zone})", "trigger": "Set off by",
        "source": "Source", "count": "How the date was computed", "readings": "Other readings",
        "contract": "Contract", "done": "Fulfilled", "no_date": "no date",
        "close": "When done, record it (in the event logs' folder) with",
        "reminder": "Reminder: {title} is due {when}",
        "prefix.missed": "[MISSED] ", "prefix.met": "[DONE] ", "prefix.late": "[DONE LATE] ",
        "prefix.withdrawn": "[CANCELLED] ", "prefix.open": "[RIGHT OPEN] ",
        "prefix.right": "[RIGHT] ", "prefix.closed": "[PERIOD ENDED] ",
        "status.pending": "pending", "status.met": "met (fulfilled on time)",
        "status.late": "late (fulfilled after the due date)",
        "status.missed": "missed (due date passed, not fulfilled)",
        "status.withdrawn": "withdrawn", "status.open": "open (the right may be exercised)",
        "status.closed": "period ended", "status.undated": "no date",
        "actor.either": "either party",
        "either.both": "each of them", "either.by": "the party that gave the notice or did the "
        "event", "either.other": "the party that received the notice",
        "by.us": "{event} given by us", "by.them": "{event} given by the counterparty",
        "by.default": " (the default for {event}; record by: us or them)",
        "by.unknown": "who gave the {event} is not recorded (record by: us or them)",
        "all.name": "Contract deadlines: all contracts",
        "ours.name": "Contract deadlines: ours to meet",
        "theirs.name": "Contract deadlines: the counterparties'",
        "contract.name": "Deadlines: {name}",
        "contract.term": "the contract's term, in its event log",
        "owner.name": "Deadlines owned by {name}",
        "feed.description": "Deadlines computed by `deadlines` from the event logs; each event "
                            "says how its date was reached.",
        "aggregate.description": " This feed holds the obligations and rights, from {past} days "
                                 "back to {ahead} days ahead; each contract's own feed holds all "
                                 "of its deadlines.",
        "feed.capped": " {dropped:,} deadline(s) due latest are left out to keep this feed under "
                       "{limit:,} bytes (Google Calendar stops reading a feed at about 1 MB); "
                       "{where}.",
        "capped.contract": "`deadlines status` lists every deadline",
        "capped.aggregate": "the contracts' own feeds hold them",
        # the subscribe page (server.py)
        "page.subscribe": "Subscribe", "page.google": "Add to Google Calendar",
        "page.url": "Feed URL", "page.due": "Due", "page.deadline": "Deadline",
        "page.status": "Status", "page.who": "Who", "page.clause": "Clause",
        "page.owner": "Owner",
        "page.empty": "No deadlines in the window.",
        "page.more": "{count} more deadlines in the window are not shown here; the feed "
                     "holds them, and each contract's own page shows its own.",
        "page.window": "Deadlines due in the last {days} days and the coming months.",
        "page.window.aggregate": "Obligations and rights due from {days} days back to {ahead} "
                                 "days ahead; each contract's own page shows all of its "
                                 "deadlines.",
        "page.note": "Calendar apps refresh subscriptions on their own schedule: Google "
                     "Calendar only every 8 to 24 hours, and it ignores the feed's alarms. "
                     "Urgent changes need another channel. Keep this address private: it "
                     "opens the feed.",
        "page.status.pending": "pending", "page.status.met": "done",
        "page.status.late": "done late", "page.status.missed": "MISSED",
        "page.status.withdrawn": "cancelled", "page.status.open": "right open",
        "page.status.closed": "period ended",
    },
    "fr": {
        "region": "région",
        "who": "Qui doit agir", "owner": "Responsable", "ours": "notre partie",
        "theirs": "le cocontractant",
        "what": "Quoi", "if_missed": "Si le délai est manqué", "status": "Statut",
        "due": "Échéance", "due_day": "au plus tard à la fin du {day} ({zone})",
        "trigger": "Déclenché par", "source": "Source", "count": "Calcul de la date",
        "readings": "Autres lectures", "contract": "Contrat", "done": "Exécuté",
        "close": "Une fois fait, l'enregistrer (dans le dossier des journaux) avec",
        "no_date": "sans date", "reminder": "Rappel : {title}, échéance {when}",
        "prefix.missed": "[MANQUÉ] ", "prefix.met": "[FAIT] ", "prefix.late": "[FAIT EN RETARD] ",
        "prefix.withdrawn": "[ANNULÉ] ", "prefix.open": "[DROIT OUVERT] ",
        "prefix.right": "[DROIT] ", "prefix.closed": "[PÉRIODE CLOSE] ",
        "status.pending": "en cours", "status.met": "respecté",
        "status.late": "exécuté en retard", "status.missed": "manqué (échéance dépassée)",
        "status.withdrawn": "retiré", "status.open": "ouvert (le droit peut être exercé)",
        "status.closed": "période close", "status.undated": "sans date",
        "actor.either": "l'une ou l'autre partie",
        "either.both": "chacune d'elles", "either.by": "la partie qui a donné l'avis ou fait "
        "l'événement", "either.other": "la partie qui a reçu l'avis",
        "by.us": "{event} donné par nous", "by.them": "{event} donné par le cocontractant",
        "by.default": " (valeur par défaut pour {event} ; indiquer by: us ou them)",
        "by.unknown": "l'auteur de {event} n'est pas indiqué (indiquer by: us ou them)",
        "all.name": "Échéances contractuelles : tous les contrats",
        "ours.name": "Échéances contractuelles : les nôtres",
        "theirs.name": "Échéances contractuelles : celles des cocontractants",
        "contract.name": "Échéances : {name}",
        "contract.term": "la durée du contrat, dans son journal",
        "owner.name": "Échéances de {name}",
        "feed.description": "Échéances calculées par `deadlines` à partir des journaux "
                            "d'événements ; chaque événement explique le calcul de sa date.",
        "aggregate.description": " Ce flux contient les obligations et les droits, de {past} "
                                 "jours en arrière à {ahead} jours en avant ; le flux de chaque "
                                 "contrat contient toutes ses échéances.",
        "feed.capped": " {dropped:,} échéance(s) parmi les plus lointaines sont omises pour que "
                       "ce flux reste sous {limit:,} octets (Google Agenda cesse de lire un flux "
                       "vers 1 Mo) ; {where}.",
        "capped.contract": "`deadlines status` liste toutes les échéances",
        "capped.aggregate": "le flux de chaque contrat les contient",
        # the subscribe page (server.py)
        "page.subscribe": "S'abonner", "page.google": "Ajouter à Google Agenda",
        "page.url": "Adresse du flux", "page.due": "Échéance", "page.deadline": "Délai",
        "page.status": "Statut", "page.who": "Qui agit", "page.clause": "Clause",
        "page.owner": "Responsable",
        "page.empty": "Aucune échéance dans la période affichée.",
        "page.more": "{count} autres échéances de la période ne sont pas affichées ici ; le "
                     "flux les contient, et la page de chaque contrat montre les siennes.",
        "page.window": "Échéances des {days} derniers jours et des mois à venir.",
        "page.window.aggregate": "Obligations et droits dont l'échéance va de {days} jours en "
                                 "arrière à {ahead} jours en avant ; la page de chaque contrat "
                                 "montre toutes ses échéances.",
        "page.note": "Les agendas actualisent les abonnements à leur propre rythme : Google "
                     "Agenda seulement toutes les 8 à 24 heures, et il ignore les alarmes du "
                     "flux. Un changement urgent doit passer par un autre canal. Gardez cette "
                     "adresse privée : elle ouvre le flux.",
        "page.status.pending": "en cours", "page.status.met": "fait",
        "page.status.late": "fait en retard", "page.status.missed": "MANQUÉ",
        "page.status.withdrawn": "annulé", "page.status.open": "droit ouvert",
        "page.status.closed": "période close",
    },
}


# a period's unit (periods.Unit's value) in French: (one, several)
_UNITS_FR = {"minutes": ("minute", "minutes"), "hours": ("heure", "heures"),
             "business hours": ("heure ouvrée", "heures ouvrées"),
             "business minutes": ("minute ouvrée", "minutes ouvrées"),
             "days": ("jour", "jours"), "business days": ("jour ouvré", "jours ouvrés"),
             "weeks": ("semaine", "semaines"), "months": ("mois", "mois"),
             "years": ("an", "ans")}


def period_fr(amount: int, unit: str) -> str:
    """`12 months` in French (`12 mois`): the words of an alert or a title written in French."""
    one, several = _UNITS_FR[unit]
    return f"{amount} {one if amount == 1 else several}"


def labels(lang: str) -> dict[str, str]:
    """The table of one language (English for a language it does not have)."""
    return LABELS.get(lang, LABELS["en"])
