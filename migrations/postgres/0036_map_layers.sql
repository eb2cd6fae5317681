-- A street's own map layers beyond its places (issue 19 item 15): today its roads, a GeoJSON
-- FeatureCollection of LineStrings with their names, uploaded by the street administrator.
-- Public geography only: no layer names a person.
CREATE TABLE map_layers (
    street_id BIGINT NOT NULL REFERENCES places(id),
    layer TEXT NOT NULL,
    geojson TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (street_id, layer)
);
