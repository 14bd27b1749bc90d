#include "inspectors/widgets/timeline.h"

#include <imgui_internal.h>

#include <algorithm>
#include <cmath>

#include "inspectors/widgets/colormap.h"
#include "inspectors/widgets/plot_frame.h"

namespace moescope::widgets {

namespace {

float row_h(const TimelineOptions& o) {
  return o.row_height > 0 ? o.row_height : ImGui::GetTextLineHeight() + 4;
}

constexpr float kLanePad = 6;

}  // namespace

float timeline_height(const std::vector<TimelineLane>& lanes, const TimelineOptions& o) {
  float h = ImGui::GetTextLineHeight() + 10;  // the time axis
  for (const auto& lane : lanes)
    h += float(std::max<size_t>(lane.rows.size(), 1)) * row_h(o) + kLanePad;
  return h + 4;
}

size_t first_visible(const TimelineRow& row, int64_t t) {
  return size_t(std::partition_point(row.items.begin(), row.items.end(),
                                     [t](const TimelineItem& it) { return it.end < t; }) -
                row.items.begin());
}

TimelineEvent timeline(const char* id, const std::vector<TimelineLane>& lanes, ImVec2 size,
                       const TimelineOptions& o) {
  TimelineEvent ev;
  if (size.y <= 0) size.y = timeline_height(lanes, o);
  PlotRect frame;
  if (!begin_plot(id, size, &frame)) return ev;
  record_rect(o.name, frame);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  if (lanes.empty() || o.t_max <= o.t_min) {
    draw_centered_text(dl, frame, "no timed ops yet");
    return ev;
  }
  const float fh = ImGui::GetTextLineHeight(), rh = row_h(o);
  float label_w = o.label_width;
  if (label_w <= 0)
    for (const auto& lane : lanes)
      label_w = std::max(label_w, ImGui::CalcTextSize(lane.label.c_str()).x + 12);
  const PlotRect plot = inset(frame, label_w, fh + 8, 4, 2);

  ZoomRange fit;
  ZoomRange& v = o.view ? *o.view : fit;
  const double extent = double(o.t_max - o.t_min);
  if (o.view) {
    if (ImGui::IsItemHovered()) ImGui::SetItemUsingMouseWheel();
    if (ImGui::IsItemHovered() && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left))
      v.valid = false;
    const ImGuiIO& io = ImGui::GetIO();
    const bool dragging =
        ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f);
    zoom_pan(v, plot.min.x, plot.max.x, io.MousePos.x, dragging ? io.MouseDelta.x : 0.0f, true, 0.0,
             extent, std::min(extent, 1000.0));
  } else {
    clamp_range(v, 0, extent, extent);
  }
  const double t0 = v.lo, t1 = v.hi;  // relative to t_min
  const double px_per_ns = plot.width() / (t1 - t0);
  auto sx = [&](int64_t t) { return plot.min.x + float((double(t - o.t_min) - t0) * px_per_ns); };

  // Time axis.
  for (double t : nice_ticks(t0, t1, std::max(2, int(plot.width() / 90)))) {
    const float x = plot.min.x + float((t - t0) * px_per_ns);
    dl->AddLine(ImVec2(x, plot.min.y - 4), ImVec2(x, frame.max.y), grid_color());
    const std::string s = format_duration_ns(t);
    dl->AddText(ImVec2(x + 3, frame.min.y + 2), text_color(), s.c_str());
  }

  const ImVec2 m = ImGui::GetIO().MousePos;
  const bool hovered = ImGui::IsItemHovered() && plot.contains(m);
  const int64_t tl = o.t_min + int64_t(std::floor(t0)), tr = o.t_min + int64_t(std::ceil(t1));
  float y = plot.min.y;
  dl->PushClipRect(frame.min, frame.max, true);
  for (size_t li = 0; li < lanes.size(); ++li) {
    const TimelineLane& lane = lanes[li];
    const float lane_h = float(std::max<size_t>(lane.rows.size(), 1)) * rh;
    if (li % 2)
      dl->AddRectFilled(ImVec2(frame.min.x, y), ImVec2(frame.max.x, y + lane_h + kLanePad),
                        IM_COL32(255, 255, 255, 8));
    dl->AddText(ImVec2(frame.min.x + 6, y + 2), text_color(), lane.label.c_str());
    dl->PushClipRect(ImVec2(plot.min.x, y), ImVec2(plot.max.x, y + lane_h), true);
    for (size_t ri = 0; ri < lane.rows.size(); ++ri) {
      const TimelineRow& row = lane.rows[ri];
      const float ya = y + rh * float(ri) + 1, yb = ya + rh - 2;
      // Runs of bars thinner than ~2 px are merged into one block of their first colour.
      float block_a = 0, block_b = -1e9f;
      ImU32 block_c = 0;
      auto flush = [&]() {
        if (block_b > block_a - 0.5f && block_c)
          dl->AddRectFilled(ImVec2(block_a, ya), ImVec2(std::max(block_b, block_a + 1), yb),
                            with_alpha(block_c, 0.75f));
        block_c = 0;
        block_b = -1e9f;
      };
      for (size_t i = first_visible(row, tl); i < row.items.size(); ++i) {
        const TimelineItem& it = row.items[i];
        if (it.start > tr) break;
        const float xa = sx(it.start), xb = sx(it.end);
        if (xb - xa < 2.0f) {
          if (block_c && xa <= block_b + 1.0f) {
            block_b = std::max(block_b, xb);
          } else {
            flush();
            block_a = xa;
            block_b = xb;
            block_c = it.color;
          }
          continue;
        }
        flush();
        dl->AddRectFilled(ImVec2(xa, ya), ImVec2(xb - 1, yb), it.color, 2.0f);
        if (o.label && xb - xa > 30) {
          const std::string s = o.label(int(li), int(ri), it);
          const float w = ImGui::CalcTextSize(s.c_str()).x;
          if (w + 6 < xb - xa || xb - xa > 60) {
            const float tx = std::max(xa, plot.min.x) + 3;
            dl->PushClipRect(ImVec2(std::max(xa, plot.min.x), ya), ImVec2(xb - 2, yb), true);
            dl->AddText(ImVec2(tx, ya + (yb - ya - fh) * 0.5f), contrast_text(it.color), s.c_str());
            dl->PopClipRect();
          }
        }
      }
      flush();
      // The item under the mouse: within 2 px, so merged slivers can still be inspected.
      if (hovered && m.y >= ya && m.y < yb) {
        const int64_t tm = o.t_min + int64_t(t0 + (m.x - plot.min.x) / px_per_ns);
        const int64_t slack = int64_t(2.0 / px_per_ns);
        const size_t i = first_visible(row, tm - slack);
        if (i < row.items.size() && row.items[i].start <= tm + slack) {
          ev.lane = int(li);
          ev.row = int(ri);
          ev.item = &row.items[i];
          dl->AddRect(ImVec2(sx(ev.item->start) - 1, ya - 1), ImVec2(sx(ev.item->end) + 1, yb + 1),
                      IM_COL32(255, 255, 255, 255), 0, 0, 1.5f);
        }
      }
    }
    dl->PopClipRect();
    y += lane_h + kLanePad;
    dl->AddLine(ImVec2(frame.min.x, y - kLanePad * 0.5f), ImVec2(frame.max.x, y - kLanePad * 0.5f),
                grid_color());
  }
  dl->PopClipRect();
  dl->AddLine(ImVec2(plot.min.x, plot.min.y - 4), ImVec2(plot.min.x, frame.max.y), axis_color());

  if (hovered) {
    ev.hovered = true;
    if (ev.item) {
      ImGui::BeginTooltip();
      if (o.tooltip)
        o.tooltip(ev.lane, ev.row, *ev.item);
      else
        ImGui::Text("%s", format_duration_ns(double(ev.item->end - ev.item->start)).c_str());
      ImGui::EndTooltip();
      ev.clicked = ImGui::IsItemDeactivated() &&
                   ImGui::GetIO().MouseDragMaxDistanceSqr[ImGuiMouseButton_Left] < 9.0f;
    }
  }
  return ev;
}

}  // namespace moescope::widgets
