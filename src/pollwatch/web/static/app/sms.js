// The SMS fallback (docs/intake.md "SMS grammar"): PW <constituency> <station> <form number> <votes>
// R<rejected> P<polled> V<valid> T<unix time> H<16 hex of the photo's SHA-256> I<submission id>.
// Its own submission id (the record's with ".sms") keeps the SMS sheet and the signed one apart.
export function smsText(rec) {
  const ballot = Object.keys(rec.votes).map(Number).sort((a, b) => a - b);
  const parts = ["PW", rec.constituency, rec.station === null ? "-" : String(Number(rec.station)),
    rec.form.toUpperCase().replace(/^FORM-/, ""), ballot.map((k) => rec.votes[String(k)]).join(",")];
  for (const [letter, name] of [["R", "rejected"], ["P", "polled"], ["V", "valid"]]) {
    if (rec.totals[name] !== undefined && rec.totals[name] !== null) parts.push(letter + rec.totals[name]);
  }
  parts.push("T" + Math.floor(Date.parse(rec.captured_at) / 1000));
  if (rec.photo_sha256) parts.push("H" + rec.photo_sha256.slice(0, 16));
  parts.push("I" + rec.submission_id + ".sms");
  return parts.join(" ");
}

// An incident (intake/sms_observe.py): OB IN <taxonomy number> <constituency> <station> T<unix time>
// #<submission id>. The SMS grammar carries neither severity nor text (the server takes medium and none),
// so an incident of category "other", which needs a text, has no SMS form.
export function incidentSmsText(rec, number) {
  if (rec.category === "other") return null;
  return ["OB", "IN", String(number), rec.constituency, rec.station === null ? "-" : String(rec.station),
    "T" + Math.floor(Date.parse(rec.captured_at) / 1000), "#" + rec.submission_id + ".sms"].join(" ");
}

// sms: URI (RFC 5724) with the body; the number is the organisation's gateway, given at enrolment or typed.
export const smsLink = (number, text) => `sms:${encodeURIComponent(number || "")}?body=${encodeURIComponent(text)}`;
