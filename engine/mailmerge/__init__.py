"""Mail merge: letters and e-mails to selected contacts, built once with the standard `email`
package and handed to a transport (outbox, SMTP, EWS, Microsoft Graph), idempotent and
resumable."""
