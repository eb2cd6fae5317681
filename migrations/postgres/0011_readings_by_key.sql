-- Raw readings are read only through their primary key (device, key, time): housekeeping
-- walks the device/key pairs of device_state instead of scanning by time, so the index on
-- time alone, which every ingested reading paid for, goes.
DROP INDEX IF EXISTS readings_ts;
