"""Everything that talks to Redmine: the HTTP engine with its one error table, the calls' scope (tallies
and personal keys), the gateway the core's ports are built on, the change feed and the ticket desk."""
