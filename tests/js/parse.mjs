// Parse iCalendar files with ical.js (Thunderbird's parser) the way a client reads a feed.
//
//   node tests/js/parse.mjs FILE.ics [FILE.ics ...]
//
// Prints JSON {file: {events: n, errors: [...]}} and exits 1 when any file raised an exception
// or recorded an error. Each file: ICAL.parse, new ICAL.Component, the VCALENDAR's VEVENTs, and
// for each one an ICAL.Event whose uid, summary, startDate and endDate are read, and each DATE /
// DATE-TIME value must read back as written (ical.js rolls 2026-02-30 over to 2026-03-02).
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function checkTime(errors, where, label, time) {
  if (time === null || time === undefined) {
    errors.push(`${where}: no ${label}`);
  } else if (Number.isNaN(time.toJSDate().getTime())) {
    errors.push(`${where}: ${label} ${time.toString()} gives an invalid JS date`);
  }
}

// ical.js silently rolls 2026-02-30 over to 2026-03-02: compare each DATE / DATE-TIME value as
// written (the jCal string) with the ICAL.Time it becomes.
function checkRolledOver(errors, where, component) {
  for (const prop of component.getAllProperties()) {
    if (prop.type !== "date" && prop.type !== "date-time") continue;
    const raw = prop.toJSON().slice(3);
    prop.getValues().forEach((time, k) => {
      if (typeof raw[k] === "string" && time && time.toString() !== raw[k]) {
        errors.push(`${where}: ${prop.name.toUpperCase()} ${raw[k]} is read as ${time.toString()}`);
      }
    });
  }
}

function parseFile(file) {
  const errors = [];
  let events = 0;
  try {
    const text = readFileSync(file, "utf8");
    const jcal = ICAL.parse(text);
    if (!Array.isArray(jcal) || typeof jcal[0] !== "string") {
      throw new Error(`expected one top-level component, got ${Array.isArray(jcal) ? jcal.length : typeof jcal}`);
    }
    const root = new ICAL.Component(jcal);
    if (root.name !== "vcalendar") {
      throw new Error(`top-level component is ${root.name}, not vcalendar`);
    }
    const vevents = root.getAllSubcomponents("vevent");
    events = vevents.length;
    const uids = new Set();
    vevents.forEach((vevent, i) => {
      const event = new ICAL.Event(vevent);
      const where = `VEVENT ${i + 1} (${event.uid ?? "no UID"})`;
      if (!event.uid) errors.push(`${where}: no UID`);
      else if (uids.has(event.uid)) errors.push(`${where}: duplicate UID`);
      uids.add(event.uid);
      if (typeof event.summary !== "string" || event.summary === "") {
        errors.push(`${where}: no SUMMARY`);
      }
      checkTime(errors, where, "DTSTART", event.startDate);
      checkTime(errors, where, "end", event.endDate);
      checkRolledOver(errors, where, vevent);
      if (event.startDate && event.endDate && event.endDate.compare(event.startDate) < 0) {
        errors.push(`${where}: ends before it starts`);
      }
      if (!vevent.getFirstPropertyValue("dtstamp")) errors.push(`${where}: no DTSTAMP`);
      for (const alarm of vevent.getAllSubcomponents("valarm")) {
        if (!alarm.getFirstPropertyValue("trigger")) errors.push(`${where}: VALARM without TRIGGER`);
        checkRolledOver(errors, `${where} VALARM`, alarm);
      }
    });
  } catch (exc) {
    errors.push(`${exc && exc.name ? exc.name : "Error"}: ${exc && exc.message ? exc.message : exc}`);
  }
  return { events, errors };
}

const result = {};
for (const file of process.argv.slice(2)) {
  result[file] = parseFile(file);
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
process.exit(Object.values(result).some((r) => r.errors.length > 0) ? 1 : 0);
