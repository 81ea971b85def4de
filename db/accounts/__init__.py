"""Local accounts, roles, the database key and the audit trail (no Qt).

- models.py: the Account table (local to this laptop, inside the encrypted file);
- session.py: who is logged in (Session) and the access checks the db/ services call;
- crypto.py, keyfile.py: the random database key wrapped by each password and the recovery key;
- service.py: first admin, login, password change, reset, recovery, users;
- cipher.py: opening SQLCipher files, encrypting a plain database;
- audit.py: the trail (login, reveal, print, export, exchange, every change), searchable.
"""
