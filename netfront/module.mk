# netfront: libxnetfront (library) and the xnetfront daemon.
