"""A planned patrol as GPX 1.1 (pure): a waypoint per stop in visiting order, a track per team."""
from __future__ import annotations

import xml.etree.ElementTree as ET

NS = "http://www.topografix.com/GPX/1/1"


def _stop_name(props: dict) -> str:
    names = [i.get("name") or i.get("category") or i.get("kind") for i in props.get("items", [])]
    return f"{props['team']}-{props['order']} " + "; ".join(n for n in names if n)


def to_gpx(patrol_id: int, created_at: str, routes: dict) -> bytes:
    """GPX 1.1 document for a saved patrol's FeatureCollection."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}gpx", {"version": "1.1", "creator": "mapapp"})
    meta = ET.SubElement(root, f"{{{NS}}}metadata")
    ET.SubElement(meta, f"{{{NS}}}name").text = f"patrol {patrol_id}"
    ET.SubElement(meta, f"{{{NS}}}time").text = created_at
    feats = routes["features"]
    stops = sorted((f for f in feats if f["properties"]["kind"] == "stop"),
                   key=lambda f: (f["properties"]["team"], f["properties"]["order"]))
    for f in stops:
        lon, lat = f["geometry"]["coordinates"]
        wpt = ET.SubElement(root, f"{{{NS}}}wpt", {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
        ET.SubElement(wpt, f"{{{NS}}}time").text = f["properties"]["arrival"]
        ET.SubElement(wpt, f"{{{NS}}}name").text = _stop_name(f["properties"])
        ET.SubElement(wpt, f"{{{NS}}}desc").text = (f"team {f['properties']['team']}, stop "
                                                   f"{f['properties']['order']}, value {f['properties']['value']}")
        ET.SubElement(wpt, f"{{{NS}}}type").text = "patrol stop"
    for f in feats:
        props = f["properties"]
        if props["kind"] != "route" or not f["geometry"]:
            continue
        trk = ET.SubElement(root, f"{{{NS}}}trk")
        ET.SubElement(trk, f"{{{NS}}}name").text = f"team {props['team']}"
        ET.SubElement(trk, f"{{{NS}}}desc").text = (f"{props['stops']} stops, {props['distance_m']:.0f} m, "
                                                   f"{props['duration_s'] / 60:.0f} min")
        seg = ET.SubElement(trk, f"{{{NS}}}trkseg")
        for lon, lat in f["geometry"]["coordinates"]:
            ET.SubElement(seg, f"{{{NS}}}trkpt", {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
