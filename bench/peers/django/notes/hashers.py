"""The contract's password rule: hashes are verified as written and never upgraded at login
(stock Django would rehash the settings' 10,000-iteration hashes to its current count)."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ContractPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256"

    def must_update(self, encoded):
        return False
