"""The calendar import: booking feeds become rows of the Sessions tab.

    feeds.read_feed(source, cache, ...)     # HTTP GET (conditional, retried) or a file
    parse.bookings(data, window, zone)      # events, recurring series expanded
    match.match(booking, clients)           # whose session it is
    plan.plan(...)                          # rows to append, cells to update (pure)
    store.calendar                          # what was imported, each feed's last read
    importer.CalendarImport                 # the above, wired for one cycle

The rules stay pure: the cycle adds the new rows to the Sessions table before
the rules run, so a booking with no credit left is decided (``Rejected``) in the
same cycle, and the write carries the rows as ``WritePlan.appends``.
"""
