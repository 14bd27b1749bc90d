#include "inspectors/panels/attention_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "inspectors/widgets/heatmap.h"

namespace moescope::panels {

// ---- thumbnails ----

void AttentionThumbnails::reset(const storage::RunData& run, int64_t bucket) {
  run_ = run.id;
  layers_ = std::max<int32_t>(run.info.n_layers, 0);
  heads_ = std::max<int32_t>(run.info.n_heads, 0);
  for (const auto& r : run.attention) {
    layers_ = std::max(layers_, r.layer + 1);
    heads_ = std::max(heads_, r.head + 1);
  }
  bucket_ = bucket;
  next_ = 0;
  grids_.assign(size_t(layers_) * heads_, {});
}

void AttentionThumbnails::add(const storage::AttentionRecord& r) {
  if (r.layer < 0 || r.head < 0 || r.layer >= layers_ || r.head >= heads_) return;
  if (int64_t(r.probs_f16.size()) < int64_t(r.n_queries) * r.n_keys) return;  // malformed
  auto& g = grids_[size_t(r.layer) * heads_ + r.head];
  if (g.empty()) g.assign(size_t(kThumb) * kThumb, NAN);
  for (int32_t q = 0; q < r.n_queries; ++q) {
    const int64_t gy = std::min<int64_t>((r.q0 + q) / bucket_, kThumb - 1);
    for (int64_t k = 0; k < r.n_keys; ++k) {
      const int64_t gx = std::min<int64_t>(k / bucket_, kThumb - 1);
      float& cell = g[size_t(gy * kThumb + gx)];
      const float v = r.at(q, k);
      if (std::isnan(cell) || v > cell) cell = v;
    }
  }
}

void AttentionThumbnails::update(const storage::RunData& run) {
  int64_t extent = 1;
  for (const auto& r : run.attention)
    extent = std::max(extent, std::max(r.q0 + r.n_queries, r.n_keys));
  int64_t bucket = bucket_;
  while (extent > bucket * kThumb) bucket *= 2;
  if (run.id != run_ || run.attention.size() < next_ || bucket != bucket_) {
    bucket = 1;
    while (extent > bucket * kThumb) bucket *= 2;
    reset(run, bucket);
  }
  extent_ = extent;
  for (; next_ < run.attention.size(); ++next_) add(run.attention[next_]);
}

int AttentionThumbnails::used() const {
  return int(std::clamp<int64_t>((extent_ + bucket_ - 1) / bucket_, 1, kThumb));
}

const float* AttentionThumbnails::grid(int32_t layer, int32_t head) const {
  if (layer < 0 || head < 0 || layer >= layers_ || head >= heads_) return nullptr;
  const auto& g = grids_[size_t(layer) * heads_ + head];
  return g.empty() ? nullptr : g.data();
}

// ---- the panel ----

AttentionView::AttentionView()
    : Panel("attention", "Attention"),
      metrics_acc_(std::make_unique<inspectors::HeadMetricsAccumulator>()),
      thumbs_acc_(std::make_unique<AttentionThumbnails>()) {}

bool AttentionView::set(const std::string& key, const std::string& value) {
  bool b;
  if (key == "sqrt" && parse_bool(value, &b)) {
    sqrt_scale_ = b;
    return true;
  }
  return false;
}

void AttentionView::refresh(const PanelContext& ctx) {
  const int64_t run = ctx.selection->run;
  const int32_t layer = ctx.selection->layer, head = ctx.selection->head;
  char inputs[96];
  std::snprintf(inputs, sizeof inputs, "%lld %d %d", (long long)run, layer, head);
  if (!data_.due(ctx, run, inputs, 0.5)) return;
  auto model = ctx.model;
  auto* acc = metrics_acc_.get();
  auto* thumbs = thumbs_acc_.get();
  data_.start(
      [=] {
        AttentionData d;
        model->read(run, [&](const storage::RunData& r) {
          d.run = r.id;
          d.layers = std::max<int32_t>(r.info.n_layers, 0);
          d.heads = std::max<int32_t>(r.info.n_heads, 0);
          d.kv_heads = std::max<int32_t>(r.info.n_kv_heads, 1);
          d.positions = r.n_positions();
          d.records = r.attention.size();
          for (const auto& t : r.tokens) d.texts.push_back(t.text);
          acc->update(r);
          d.metrics = acc->metrics();
          thumbs->update(r);
          d.layers = std::max(d.layers, thumbs->layers());
          d.heads = std::max(d.heads, thumbs->heads());
          d.thumbs.resize(size_t(d.layers) * d.heads);
          // The used corner of each grid, in sqrt scale so that faint structure shows.
          d.thumb = thumbs->used();
          constexpr int T = AttentionThumbnails::kThumb;
          for (int32_t l = 0; l < thumbs->layers(); ++l)
            for (int32_t h = 0; h < thumbs->heads(); ++h)
              if (const float* g = thumbs->grid(l, h)) {
                auto& out = d.thumbs[size_t(l) * d.heads + h];
                out.resize(size_t(d.thumb) * d.thumb);
                for (int y = 0; y < d.thumb; ++y)
                  for (int x = 0; x < d.thumb; ++x)
                    out[size_t(y * d.thumb + x)] = std::sqrt(g[y * T + x]);
              }
          // The chosen head as a dense map: rows are query positions, columns keys.
          d.layer = layer;
          d.head = head;
          int64_t rows = 0, cols = 0;
          for (const auto& a : r.attention)
            if (a.layer == layer && a.head == head) {
              rows = std::max<int64_t>(rows, a.q0 + a.n_queries);
              cols = std::max(cols, a.n_keys);
            }
          d.map_rows = rows;
          d.map_cols = cols;
          d.map.assign(size_t(rows * cols), NAN);
          for (const auto& a : r.attention) {
            if (a.layer != layer || a.head != head) continue;
            if (int64_t(a.probs_f16.size()) < int64_t(a.n_queries) * a.n_keys) continue;
            for (int32_t q = 0; q < a.n_queries; ++q) {
              float* row = d.map.data() + (a.q0 + q) * cols;
              ++d.captured_rows;
              // Keys after the query are masked (causal): left as NaN, drawn as "no data".
              const int64_t keys = std::min<int64_t>(a.n_keys, a.q0 + q + 1);
              for (int64_t k = 0; k < keys; ++k) row[k] = a.at(q, k);
            }
          }
        });
        return d;
      },
      inputs);
}

void AttentionView::draw_content(PanelContext& ctx) {
  refresh(ctx);
  auto d = data_.shown(ctx, ctx.selection->run);
  if (!d) return;
  if (d->records == 0) {
    no_data("No attention maps in this run",
            "Attention capture was off, or outside its layers, heads, steps or byte budget. Turn "
            "it on in Model & capture, then generate again. Maps of the prompt arrive after the "
            "prefill.");
    return;
  }
  Selection& sel = *ctx.selection;
  const float fs = ImGui::GetFontSize();
  ImGui::AlignTextToFramePadding();
  ImGui::SetNextItemWidth(fs * 8);
  int layer = sel.layer, head = sel.head;
  ImGui::SliderInt("layer", &layer, 0, std::max(0, d->layers - 1));
  ImGui::SameLine();
  ImGui::SetNextItemWidth(fs * 8);
  ImGui::SliderInt("head", &head, 0, std::max(0, d->heads - 1));
  sel.layer = layer;
  sel.head = head;
  const int group = std::max(1, d->heads / std::max(1, d->kv_heads));
  ImGui::SameLine();
  ImGui::TextDisabled("KV head %d (group of %d)", head / group, group);
  ImGui::SameLine(0, 24);
  ImGui::Checkbox("sqrt colour scale", &sqrt_scale_);
  ImGui::SameLine();
  if (ImGui::Button("Fit")) view_.reset();

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float top_h = std::max(320.0f, avail.y * 0.62f);
  draw_map(ctx, *d, ImVec2(avail.x * 0.6f, top_h));
  ImGui::SameLine();
  draw_grid(ctx, *d, ImVec2(0, top_h));
  draw_metrics(ctx, *d);
}

void AttentionView::draw_map(PanelContext& ctx, const AttentionData& d, ImVec2 size) {
  ImGui::BeginGroup();
  ImGui::Text("Layer %d, head %d: %lld query rows captured over %lld keys", d.layer, d.head,
              (long long)d.captured_rows, (long long)d.map_cols);
  size.y -= ImGui::GetFrameHeightWithSpacing();
  if (d.map_rows == 0) {
    const ImVec2 start = ImGui::GetCursorPos();
    ImGui::Dummy(size);
    ImGui::SetCursorPos(start);
    ImGui::BeginChild("##nomap", size);
    no_data("This head was not captured",
            "Pick a head with a thumbnail on the right, or widen the capture in Model & capture.");
    ImGui::EndChild();
    ImGui::EndGroup();
    return;
  }
  // sqrt spreads the small probabilities that a sink head would otherwise paint black.
  const float* values = d.map.data();
  if (sqrt_scale_) {
    if (shown_src_ != d.map.data() || shown_.size() != d.map.size()) {
      shown_.resize(d.map.size());
      for (size_t i = 0; i < d.map.size(); ++i) shown_[i] = std::sqrt(d.map[i]);
      shown_src_ = d.map.data();
    }
    values = shown_.data();
  }
  widgets::HeatmapOptions o;
  o.colormap = widgets::Colormap::Magma;
  o.auto_range = false;
  o.lo = 0;
  o.hi = 1;
  o.legend_title = sqrt_scale_ ? "sqrt(p)" : "p";
  o.x_title = "key";
  o.y_title = "query";
  o.x_label = [&](int k) {
    return printable(d.texts.size() > size_t(k) ? d.texts[size_t(k)] : "", 8);
  };
  o.y_label = [&](int q) {
    return std::to_string(q) + " " +
           printable(d.texts.size() > size_t(q) ? d.texts[size_t(q)] : "", 10);
  };
  o.max_label_width = 120;
  o.nan_transparent = true;
  o.view = &view_;
  o.version = uint64_t(d.map.size()) * 31 + uint64_t(d.captured_rows) + (sqrt_scale_ ? 7 : 0) +
              uint64_t(reinterpret_cast<uintptr_t>(d.map.data()));
  o.name = "attention.map";
  o.tooltip = [&](int q, int k) {
    const float p = d.map[size_t(q) * d.map_cols + k];
    if (!std::isnan(p)) ImGui::Text("p = %.4f", p);
    ImGui::TextDisabled("query \"%s\" -> key \"%s\"",
                        printable(d.texts.size() > size_t(q) ? d.texts[size_t(q)] : "").c_str(),
                        printable(d.texts.size() > size_t(k) ? d.texts[size_t(k)] : "").c_str());
  };
  const auto ev = widgets::heatmap("qk", values, int(d.map_rows), int(d.map_cols), size, o);
  if (ev.clicked) ctx.selection->position = ev.row;
  ImGui::EndGroup();
}

void AttentionView::draw_grid(PanelContext& ctx, const AttentionData& d, ImVec2 size) {
  ImGui::BeginGroup();
  ImGui::Text("All heads (rows: layers; columns grouped by KV head)");
  ImGui::BeginChild("##thumbs", ImVec2(size.x, size.y - ImGui::GetFrameHeightWithSpacing()), true);
  const int group = std::max(1, d.heads / std::max(1, d.kv_heads));
  const float gap = 8, label_w = ImGui::CalcTextSize("L00").x + 6;
  const float avail = ImGui::GetContentRegionAvail().x - label_w - gap * (d.kv_heads - 1);
  const float cell = std::clamp(std::floor(avail / std::max(1, d.heads)) - 3, 18.0f, 96.0f);
  // KV group captions.
  ImGui::Dummy(ImVec2(label_w - ImGui::GetStyle().ItemSpacing.x, 0));
  for (int g = 0; g < d.kv_heads; ++g) {
    ImGui::SameLine(label_w + g * (group * (cell + 3) + gap));
    ImGui::TextDisabled("kv%d", g);
  }
  ImGuiListClipper clipper;
  clipper.Begin(d.layers, cell + 3);
  while (clipper.Step())
    for (int l = clipper.DisplayStart; l < clipper.DisplayEnd; ++l) {
      ImGui::AlignTextToFramePadding();
      ImGui::Text("L%d", l);
      for (int h = 0; h < d.heads; ++h) {
        ImGui::SameLine(label_w + h * (cell + 3) + (h / group) * gap);
        const auto& g = d.thumbs[size_t(l) * d.heads + h];
        char id[32];
        std::snprintf(id, sizeof id, "##t%d_%d", l, h);
        const auto ev = widgets::heatmap_thumbnail(
            id, g.empty() ? nullptr : g.data(), d.thumb, d.thumb, ImVec2(cell, cell),
            widgets::Colormap::Magma, 0, 1, uint64_t(reinterpret_cast<uintptr_t>(g.data())),
            l == ctx.selection->layer && h == ctx.selection->head);
        if (ev.hovered)
          ImGui::SetTooltip("layer %d, head %d (KV head %d)%s", l, h, h / group,
                            g.empty() ? ": not captured" : "");
        if (ev.clicked) {
          ctx.selection->layer = l;
          ctx.selection->head = h;
          view_.reset();
        }
      }
    }
  widgets::record_rect(
      "attention.grid",
      {ImGui::GetWindowPos(), ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowWidth(),
                                     ImGui::GetWindowPos().y + ImGui::GetWindowHeight())});
  ImGui::EndChild();
  ImGui::EndGroup();
}

void AttentionView::draw_metrics(PanelContext& ctx, const AttentionData& d) {
  std::vector<size_t> order(d.metrics.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_SizingStretchProp;
  if (!ImGui::BeginTable("head_metrics", 10, flags, ImVec2(0, 0))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  const char* names[] = {"layer",          "head", "KV",       "rows",      "entropy",
                         "entropy (norm)", "sink", "previous", "duplicate", "induction"};
  for (int i = 0; i < 10; ++i)
    ImGui::TableSetupColumn(names[i], i == 0 ? ImGuiTableColumnFlags_DefaultSort : 0);
  ImGui::TableHeadersRow();
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsCount > 0) {
    sort_column_ = specs->Specs[0].ColumnIndex;
    sort_descending_ = specs->Specs[0].SortDirection == ImGuiSortDirection_Descending;
  }
  auto key = [&](const inspectors::HeadMetrics& h) -> double {
    switch (sort_column_) {
      case 0:
        return h.layer * 100000.0 + h.head;
      case 1:
        return h.head * 100000.0 + h.layer;
      case 2:
        return h.kv_head;
      case 3:
        return double(h.rows);
      case 4:
        return h.entropy;
      case 5:
        return h.entropy_norm;
      case 6:
        return h.sink;
      case 7:
        return h.previous;
      case 8:
        return h.duplicate;
      default:
        return h.induction;
    }
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double x = key(d.metrics[a]), y = key(d.metrics[b]);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);  // NaN last either way
    return sort_descending_ ? x > y : x < y;
  });
  ImGuiListClipper clipper;
  clipper.Begin(int(order.size()));
  while (clipper.Step())
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const auto& h = d.metrics[order[size_t(i)]];
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      char label[24];
      std::snprintf(label, sizeof label, "L%d##%d", h.layer, i);
      const bool selected = h.layer == ctx.selection->layer && h.head == ctx.selection->head;
      if (ImGui::Selectable(label, selected, ImGuiSelectableFlags_SpanAllColumns)) {
        ctx.selection->layer = h.layer;
        ctx.selection->head = h.head;
        view_.reset();
      }
      ImGui::TableNextColumn();
      ImGui::Text("H%d", h.head);
      ImGui::TableNextColumn();
      ImGui::Text("%d", h.kv_head);
      ImGui::TableNextColumn();
      ImGui::Text("%lld", (long long)h.rows);
      for (double v : {h.entropy, h.entropy_norm, h.sink, h.previous, h.duplicate, h.induction}) {
        ImGui::TableNextColumn();
        if (std::isnan(v))
          ImGui::TextDisabled("-");
        else
          ImGui::Text("%.3f", v);
      }
    }
  ImGui::EndTable();
}

}  // namespace moescope::panels
