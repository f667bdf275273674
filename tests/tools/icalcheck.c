/* Parse iCalendar files with libical (Evolution's parser) and report what it complains about.
 *
 *   gcc -o icalcheck icalcheck.c $(pkg-config --cflags --libs libical)
 *   icalcheck FILE.ics [FILE.ics ...]
 *
 * For each file prints tab-separated lines:
 *   EVENTS <tab> FILE <tab> N          the VEVENTs libical built
 *   ERROR  <tab> FILE <tab> MESSAGE    one per problem (tabs and newlines in MESSAGE become spaces)
 * and exits 1 when any file had a problem, 2 on a usage or I/O error.
 *
 * Problems: the file does not parse to one VCALENDAR; any X-LIC-ERROR property libical inserted
 * while parsing (at any depth); a VEVENT without UID, SUMMARY or DTSTART; a DTSTART/DTEND that is
 * not a real date (libical keeps 20260230 as written); a duplicate UID (Evolution keys events by
 * UID, so the second would replace the first); and, on copies with METHOD:PUBLISH added (the
 * restriction tables only apply with a METHOD), what icalrestriction_check finds in the calendar's
 * properties and in each VEVENT, except the ORGANIZER that RFC 5546 PUBLISH requires and a
 * subscribed feed does not carry.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int problems = 0;
static char **seen = NULL; /* the messages already printed for the current file */
static int nseen = 0, capseen = 0;

static void forget_messages(void) {
    for (int i = 0; i < nseen; i++) free(seen[i]);
    nseen = 0;
}

/* One ERROR line per distinct message and file (icalrestriction_check repeats itself). */
static void report(const char *file, const char *fmt, const char *a, const char *b) {
    char msg[2048];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    for (char *p = msg; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
    problems++;
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i], msg) == 0) return;
    if (nseen == capseen) seen = realloc(seen, sizeof(char *) * (capseen = capseen * 2 + 16));
    seen[nseen++] = strdup(msg);
    printf("ERROR\t%s\t%s\n", file, msg);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Every X-LIC-ERROR inserted by the parser, at any depth; or only those icalrestriction_check
 * inserted ("Failed iTIP restrictions ..."), less the ORGANIZER ones. */
static void lic_errors(const char *file, icalcomponent *comp, int restrictions_only) {
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        const char *text = icalproperty_get_xlicerror(p);
        if (restrictions_only && (!text || !strstr(text, "iTIP") || strstr(text, "ORGANIZER")))
            continue;
        report(file, "%s: X-LIC-ERROR: %s", icalcomponent_kind_to_string(icalcomponent_isa(comp)),
               text);
    }
    for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        lic_errors(file, c, restrictions_only);
}

static void check_time(const char *file, const char *uid, const char *label, icalproperty *prop) {
    if (!prop) return;
    struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(prop));
    struct icaltimetype n = icaltime_normalize(t);
    if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t)) {
        report(file, "VEVENT %s: %s is not a valid time", uid, label);
    } else if (t.year != n.year || t.month != n.month || t.day != n.day || t.hour != n.hour ||
               t.minute != n.minute || t.second != n.second) {
        char both[256];
        snprintf(both, sizeof both, "%s %s is not a real date (means %s)", label,
                 icaltime_as_ical_string(t), icaltime_as_ical_string(n));
        report(file, "VEVENT %s: %s", uid, both);
    }
}

static int check_file(const char *file) {
    forget_messages();
    char *text = slurp(file);
    if (!text) {
        fprintf(stderr, "icalcheck: cannot read %s\n", file);
        return 2;
    }
    icalerror_clear_errno();
    icalcomponent *cal = icalparser_parse_string(text);
    free(text);
    if (!cal) {
        report(file, "icalparser_parse_string returned nothing (%s)%s",
               icalerror_strerror(icalerrno), NULL);
        printf("EVENTS\t%s\t0\n", file);
        return 0;
    }
    if (icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT)
        report(file, "top-level component is %s, not one VCALENDAR",
               icalcomponent_kind_to_string(icalcomponent_isa(cal)), NULL);
    lic_errors(file, cal, 0);

    int events = 0, nuids = 0, cap = 64;
    char **uids = malloc(sizeof(char *) * cap);
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        events++;
        const char *uid = icalcomponent_get_uid(ev);
        char where[64];
        if (!uid || !*uid) {
            snprintf(where, sizeof where, "#%d", events);
            report(file, "VEVENT %s: no UID%s", where, NULL);
            uid = where;
        } else {
            for (int i = 0; i < nuids; i++)
                if (strcmp(uids[i], uid) == 0) report(file, "VEVENT %s: duplicate UID%s", uid, NULL);
            if (nuids == cap) uids = realloc(uids, sizeof(char *) * (cap *= 2));
            uids[nuids++] = strdup(uid);
        }
        if (!icalcomponent_get_first_property(ev, ICAL_SUMMARY_PROPERTY))
            report(file, "VEVENT %s: no SUMMARY%s", uid, NULL);
        icalproperty *start = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
        if (!start) report(file, "VEVENT %s: no DTSTART%s", uid, NULL);
        check_time(file, uid, "DTSTART", start);
        check_time(file, uid, "DTEND", icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY));
    }
    for (int i = 0; i < nuids; i++) free(uids[i]);
    free(uids);
    printf("EVENTS\t%s\t%d\n", file, events);

    /* The restriction tables of RFC 5546 (they only apply with a METHOD). icalrestriction_check
     * stops at the first component that fails, and every VEVENT fails for want of an ORGANIZER,
     * so check the calendar's own properties alone, then each VEVENT in a calendar of its own. */
    if (icalcomponent_isa(cal) == ICAL_VCALENDAR_COMPONENT &&
        !icalcomponent_get_first_property(cal, ICAL_METHOD_PROPERTY)) {
        icalcomponent *head = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
        for (icalproperty *p = icalcomponent_get_first_property(cal, ICAL_ANY_PROPERTY); p;
             p = icalcomponent_get_next_property(cal, ICAL_ANY_PROPERTY))
            if (icalproperty_isa(p) != ICAL_XLICERROR_PROPERTY)
                icalcomponent_add_property(head, icalproperty_new_clone(p));
        icalcomponent_add_property(head, icalproperty_new_method(ICAL_METHOD_PUBLISH));
        if (!icalrestriction_check(head)) lic_errors(file, head, 1);
        icalcomponent_free(head);
        for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
             ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
            icalcomponent *one = icalcomponent_vanew(
                ICAL_VCALENDAR_COMPONENT, icalproperty_new_version("2.0"),
                icalproperty_new_prodid("-//icalcheck//EN"),
                icalproperty_new_method(ICAL_METHOD_PUBLISH), (void *)0);
            icalcomponent *copy = icalcomponent_new_clone(ev);
            icalcomponent_add_component(one, copy);
            if (!icalrestriction_check(one)) lic_errors(file, copy, 1);
            icalcomponent_free(one);
        }
    }
    icalcomponent_free(cal);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: icalcheck FILE.ics [FILE.ics ...]\n");
        return 2;
    }
    icalerror_set_errors_are_fatal(0);
    for (int i = 1; i < argc; i++)
        if (check_file(argv[i]) == 2) return 2;
    return problems ? 1 : 0;
}
