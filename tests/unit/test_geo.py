"""Pure geometry: datum conversions, CRS resolution, swapped axes, range checks, repair."""
import numpy as np
import pytest
import shapely

from mapapp.geo import crs, datum, validate


def _metres(lon0, lat0, lon1, lat1):
    return np.hypot((lon1 - lon0) * 111320 * np.cos(np.radians(lat0)), (lat1 - lat0) * 110574)


def test_tiananmen_moves_a_few_hundred_metres_north_east_in_gcj02():
    glon, glat = datum.wgs84_to_gcj02(116.391, 39.907)
    assert 0.005 < glon - 116.391 < 0.007 and 0.0008 < glat - 39.907 < 0.0020
    assert 300 < _metres(116.391, 39.907, glon, glat) < 700


def test_gcj02_inverse_is_iterative_not_one_step():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(73, 135, 5000), rng.uniform(18, 53, 5000)
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    wlon, wlat = datum.gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, wlon, wlat).max() < 0.01  # required: < 0.5 m
    # the one-step approximation (subtract the offset at the GCJ point) is visibly worse
    slon, slat = datum.wgs84_to_gcj02(glon, glat)
    one_step = _metres(lon, lat, 2 * glon - slon, 2 * glat - slat)
    assert one_step.max() > 0.5


def test_bd09_round_trips_and_the_path_through_gcj02():
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(73, 135, 2000), rng.uniform(18, 53, 2000)
    blon, blat = datum.gcj02_to_bd09(*datum.wgs84_to_gcj02(lon, lat))
    assert 500 < _metres(lon, lat, blon, blat).min()  # BD-09 adds ~ 1 km more on top of GCJ-02
    wlon, wlat = datum.bd09_to_wgs84(blon, blat)
    assert _metres(lon, lat, wlon, wlat).max() < 0.01
    glon, glat = datum.bd09_to_gcj02(*datum.gcj02_to_bd09(lon, lat))
    assert _metres(lon, lat, glon, glat).max() < 0.01
    tlon, tlat = datum.to_wgs84(blon, blat, "bd09")
    np.testing.assert_allclose([tlon, tlat], [wlon, wlat])


def test_outside_china_gcj02_is_wgs84_and_unknown_datum_is_an_error():
    lon, lat = np.array([24.94, -111.8, 150.0]), np.array([60.17, 33.4, -33.9])
    for f in (datum.wgs84_to_gcj02, datum.gcj02_to_wgs84):
        x, y = f(lon, lat)
        assert (x == lon).all() and (y == lat).all()
    assert datum.out_of_china([116.4, 24.94], [39.9, 60.17]).tolist() == [False, True]
    x, y = datum.to_wgs84([116.4], [39.9], "wgs84")
    assert x[0] == 116.4 and y[0] == 39.9
    with pytest.raises(ValueError, match="unknown datum"):
        datum.to_wgs84([0], [0], "tokyo")


def test_resolve_crs_user_value_wins_and_missing_crs_needs_lonlat():
    assert crs.resolve_crs("ESRI:102649", "EPSG:4326").to_string() == "ESRI:102649"
    assert crs.resolve_crs("EPSG:2263", None).to_epsg() == 2263
    assert crs.resolve_crs(None, "EPSG:3857").to_epsg() == 3857
    assert crs.resolve_crs(None, None, np.array([[24.9, 60.1], [25.0, 60.2]])).to_epsg() == 4326
    # swapped lon/lat in China is still lon/lat (lat 39.9, lon 116.4 in the wrong columns)
    assert crs.resolve_crs(None, None, np.array([[39.9, 116.4], [39.8, 116.3]])).to_epsg() == 4326
    with pytest.raises(ValueError, match="file has no CRS; pass --crs"):
        crs.resolve_crs(None, None, np.array([[700000.0, 3700000.0], [710000.0, 3710000.0]]))
    with pytest.raises(ValueError, match="not a CRS"):
        crs.resolve_crs("EPSG:nope", None)


def test_utm_zone_for_a_city():
    assert crs.utm_crs_for(24.94, 60.17).to_epsg() == 32635
    assert crs.utm_crs_for(-111.8, 33.4).to_epsg() == 32612
    assert crs.utm_crs_for(116.4, 39.9).to_epsg() == 32650
    assert crs.utm_crs_for(151.2, -33.9).to_epsg() == 32756


def test_detect_swapped_whole_file_and_single_rows():
    bounds = (24.9, 60.1, 25.0, 60.2)
    whole, rows = validate.detect_swapped(np.array([60.15, 60.16]), np.array([24.95, 24.96]), bounds)
    assert whole and rows.tolist() == [True, True]
    whole, rows = validate.detect_swapped(np.array([24.95, 60.15, 24.96]), np.array([60.15, 24.95, 60.16]),
                                          bounds)
    assert not whole and rows.tolist() == [False, True, False]
    # without a jurisdiction only an impossible latitude gives a swap away
    whole, rows = validate.detect_swapped(np.array([116.4, 39.9, 116.3]), np.array([39.9, 116.4, 39.8]))
    assert not whole and rows.tolist() == [False, True, False]
    whole, _ = validate.detect_swapped(np.array([39.9, 39.8]), np.array([116.4, 116.3]))
    assert whole


def test_out_of_range_returns_the_bad_indices():
    bad = validate.out_of_range(np.array([181, 10, np.nan, -180]), np.array([0, 10, 0, -90.5]))
    assert bad.tolist() == [0, 2, 3]


def test_repair_makes_bowtie_valid_drops_z_and_says_how():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    box_z = shapely.box(0, 0, 1, 1)
    box_z = shapely.force_3d(box_z, 5.0)
    sliver = shapely.Polygon([(0, 0), (1, 0), (2, 0), (0, 0)])
    fixed, how = validate.repair(np.array([box_z, bowtie, None, sliver], dtype=object))
    assert set(how) == {1, 3}
    assert "Self-intersection" in how[1] and "MultiPolygon" in how[1]
    assert "nothing is left" in how[3]
    assert shapely.is_valid(fixed[:2]).all() and not shapely.has_z(fixed[0])
    assert fixed[2] is None and shapely.area(fixed[1]) == pytest.approx(0.5)
