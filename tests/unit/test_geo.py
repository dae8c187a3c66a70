import numpy as np
import pytest
import shapely

from mapapp.geo import crs, datum, validate


def test_gcj02_offset_and_round_trip_in_china():
    lon, lat = np.array([116.391, 121.4737]), np.array([39.907, 31.2304])
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    metres = np.hypot((glon - lon) * 111320 * np.cos(np.radians(lat)), (glat - lat) * 110540)
    assert ((metres > 300) & (metres < 700)).all()
    wlon, wlat = datum.gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 5e-7 and np.abs(wlat - lat).max() < 5e-7  # < 0.05 m


def test_bd09_round_trip():
    lon, lat = np.array([116.404]), np.array([39.915])
    blon, blat = datum.gcj02_to_bd09(*datum.wgs84_to_gcj02(lon, lat))
    wlon, wlat = datum.bd09_to_wgs84(blon, blat)
    assert abs(wlon[0] - lon[0]) < 1e-5 and abs(wlat[0] - lat[0]) < 1e-5


def test_outside_china_is_unchanged():
    lon, lat = datum.to_wgs84([24.94], [60.17], "gcj02")
    assert lon[0] == 24.94 and lat[0] == 60.17
    with pytest.raises(ValueError, match="unknown datum"):
        datum.to_wgs84([0], [0], "tokyo")


def test_crs_resolution():
    assert crs.resolve_crs("ESRI:102649", None).to_string() == "ESRI:102649"
    assert crs.resolve_crs(None, None, (24.9, 60.1, 25.0, 60.2)).to_epsg() == 4326
    with pytest.raises(ValueError, match="pass --crs"):
        crs.resolve_crs(None, None, (700000, 800000, 710000, 810000))
    with pytest.raises(ValueError, match="not a CRS"):
        crs.parse_crs("EPSG:nope")
    assert crs.utm_crs_for(24.94, 60.17).to_epsg() == 32635
    assert crs.utm_crs_for(-111.8, 33.4).to_epsg() == 32612


def test_swapped_detection_and_range():
    bounds = (24.9, 60.1, 25.0, 60.2)
    assert validate.swapped_file(np.array([60.15, 60.16]), np.array([24.95, 24.96]), bounds)
    assert not validate.swapped_file(np.array([24.95]), np.array([60.15]), bounds)
    rows = validate.swapped_rows(np.array([24.95, 60.15, 10.0]), np.array([60.15, 24.95, 95.0]), bounds)
    assert rows.tolist() == [False, True, True]
    assert validate.out_of_range(np.array([181, 10, np.nan]), np.array([0, 10, 0])).tolist() == [True, False, True]


def test_repair_makes_bowtie_valid():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    fixed, repaired = validate.repair(np.array([bowtie, shapely.box(0, 0, 1, 1)], dtype=object))
    assert repaired.tolist() == [True, False] and shapely.is_valid(fixed).all()
