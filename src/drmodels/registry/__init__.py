"""The registry: tables, migrations, and the queries and state transitions the service uses."""
